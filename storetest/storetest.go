// Package storetest is the conformance suite of hookflow.Store: every storage
// backend runs Run against a real database, so all backends keep one
// contract. Each test asserts the values the contract promises.
//
// The suite names users and campaigns in deliveries without always creating
// them; backends must not require those rows to exist. It uses delivery IDs
// that sort in creation order, as UUIDv7s do, so "newest first" means the
// same by ID and by creation time.
package storetest

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
)

// Run runs the whole suite. open must return a new, empty store for each
// test and close it when the test ends (t.Cleanup).
func Run(t *testing.T, open func(t *testing.T) hookflow.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, hookflow.Store)
	}{
		{"FindUserByEachRef", testFindUserByEachRef},
		{"GetUsers", testGetUsers},
		{"GetUsersMany", testGetUsersMany},
		{"GetUsersAfterWrites", testGetUsersAfterWrites},
		{"FindUsersByExternalID", testFindUsersByExternalID},
		{"SaveAndClaimDefers", testSaveAndClaimDefers},
		{"UserConflicts", testUserConflicts},
		{"UpdateUser", testUpdateUser},
		{"ConcurrentUserWrites", testConcurrentUserWrites},
		{"ConcurrentUpdatesSomeFailing", testConcurrentUpdatesSomeFailing},
		{"UpdateRollsBackOnError", testUpdateRollsBack},
		{"EachUser", testEachUser},
		{"Events", testEvents},
		{"AddAlias", testAddAlias},
		{"DeleteUser", testDeleteUser},
		{"MergeUser", testMergeUser},
		{"CampaignCreateGet", testCampaignCreateGet},
		{"CampaignUpdateVersion", testCampaignUpdateVersion},
		{"ListCampaigns", testListCampaigns},
		{"TriggeredCampaigns", testTriggeredCampaigns},
		{"ExceptionCampaigns", testExceptionCampaigns},
		{"EnqueueClaimLease", testEnqueueClaimLease},
		{"ClaimLimitAndOrder", testClaimLimitAndOrder},
		{"DeliveryRoundTrip", testDeliveryRoundTrip},
		{"ConcurrentClaimers", testConcurrentClaimers},
		{"SaveRendered", testSaveRendered},
		{"SaveAndClaim", testSaveAndClaim},
		{"SaveAndClaimCompletes", testSaveAndClaimCompletes},
		{"RequestBytesExact", testRequestBytesExact},
		{"Complete", testComplete},
		{"CompleteDuplicateAttempt", testCompleteDuplicateAttempt},
		{"LargeBatches", testLargeBatches},
		{"NextDue", testNextDue},
		{"Defer", testDefer},
		{"DeferOnlyItsLease", testDeferOnlyItsLease},
		{"QueueStats", testQueueStats},
		{"PaceClaimed", testPaceClaimed},
		{"PaceAbortsBeyond72h", testPaceAbortsBeyond72h},
		{"PaceConcurrentReservers", testPaceConcurrentReservers},
		{"ReleasePaced", testReleasePaced},
		{"ReplayCountsWhatTheFilterSelects", testReplayCountsWhatTheFilterSelects},
		{"ReplayRequeuesWithTheSameIDSpacedApart", testReplayRequeuesWithTheSameIDSpacedApart},
		{"ReplayOneDelivery", testReplayOneDelivery},
		{"ListDeliveries", testListDeliveries},
		{"ListDeliveriesLimits", testListDeliveriesLimits},
		{"CampaignStats", testCampaignStats},
		{"CancelPending", testCancelPending},
		{"LastSendAt", testLastSendAt},
		{"Keys", testKeys},
		{"APIMessage", testAPIMessage},
		{"ScheduleLifecycle", testScheduleLifecycle},
		{"DueSchedules", testDueSchedules},
		{"DueSchedulesRollBack", testDueSchedulesRollBack},
		{"ConcurrentDueSchedules", testConcurrentDueSchedules},
		{"ListSchedules", testListSchedules},
		{"HandOffClaimsFromMemory", testHandOffClaimsFromMemory},
		{"HandOffRolledBack", testHandOffRolledBack},
		{"HandOffLimitAndShare", testHandOffLimitAndShare},
		{"HandOffStopHandsBack", testHandOffStopHandsBack},
		{"HandOffHeldTooLong", testHandOffHeldTooLong},
		{"HandOffStopAfterReclaim", testHandOffStopAfterReclaim},
		{"HandOffPayloadAsStored", testHandOffPayloadAsStored},
		{"HandOffThroughSaveAndClaim", testHandOffThroughSaveAndClaim},
		{"ContentBlockCreateGet", testContentBlockCreateGet},
		{"ContentBlockUpdate", testContentBlockUpdate},
		{"ListContentBlocks", testListContentBlocks},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// t0 is the suite's "now": a fixed instant with microseconds, the precision
// stores promise.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)

// at returns t0 shifted by d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// update runs fn in s.Update and fails the test on error.
func update(t *testing.T, s hookflow.Store, fn func(hookflow.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// delivery returns a pending campaign delivery due at due, created at due.
func delivery(id, campaignID, userID string, due time.Time) *hookflow.Delivery {
	return &hookflow.Delivery{
		ID:         id,
		Origin:     hookflow.OriginCampaign,
		CampaignID: campaignID,
		DispatchID: "dispatch-" + campaignID,
		UserID:     userID,
		ExternalID: "ext-" + userID,
		State:      hookflow.StatePending,
		DueAt:      due,
		CreatedAt:  due,
		UpdatedAt:  due,
	}
}

// deliveryID returns the i-th delivery ID; IDs sort in i order.
func deliveryID(i int) string { return fmt.Sprintf("d-%06d", i) }

func enqueue(t *testing.T, s hookflow.Store, ds ...*hookflow.Delivery) {
	t.Helper()
	update(t, s, func(tx hookflow.Tx) error { return tx.Enqueue(ds) })
}

func claim(t *testing.T, s hookflow.Store, now time.Time, limit int,
	lease time.Duration) []*hookflow.Delivery {
	t.Helper()
	ds, err := s.Claim(context.Background(), now, limit, lease)
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	return ds
}

func getDelivery(t *testing.T, s hookflow.Store, id string) (*hookflow.Delivery, []hookflow.Attempt) {
	t.Helper()
	d, as, err := s.GetDelivery(context.Background(), id)
	if err != nil {
		t.Fatalf("GetDelivery(%s): %v", id, err)
	}
	return d, as
}

func deliveryIDs(ds []*hookflow.Delivery) []string {
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	return ids
}

func campaignIDs(cs []*hookflow.Campaign) []string {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	slices.Sort(ids)
	return ids
}

// equal fails the test when got and want differ deeply.
func equal[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// sameTime fails the test when got and want are different instants or got
// is not in UTC.
func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
	if !got.IsZero() && got.Location() != time.UTC {
		t.Errorf("%s location = %v, want UTC", what, got.Location())
	}
}
