package e2e

import (
	"net/http"
	"testing"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/hookflowtest"
	"github.com/hookflow/hookflow/receiver"
)

// A campaign's numbers after deliveries that end delivered, failed and
// aborted: sends count deliveries that made an attempt, unique recipients
// the users those went to.
func TestFieldReportCampaignStats(t *testing.T) {
	rcv := frReceiver(t, func(r *receiver.Request, _ int) receiver.Response {
		if r.Path() == "/u3" {
			return receiver.Response{Status: http.StatusForbidden}
		}
		return receiver.Response{Status: http.StatusOK}
	})
	sys := hookflowtest.Start(t, hookflowtest.Options{})
	users := []string{"u1", "u2", "u3", "u4"}
	for _, u := range users {
		frUser(sys, u, nil)
	}
	id := frAPICampaign(sys, "mixed", frRaw(rcv.URL()+"/{{${user_id}}}",
		`{% if ${user_id} == 'u4' %}{% abort_message('not u4') %}{% endif %}{"ok": true}`))

	frTrigger(sys, id, users...)
	frTrigger(sys, id, "u1")
	for _, d := range sys.WaitDeliveries(hookflow.DeliveryFilter{CampaignID: id}, 5) {
		frWaitFor(t, sys, d.ID, "a final state", func(d *hookflow.Delivery) bool { return hookflow.Final(d.State) })
	}

	var got hookflow.CampaignStats
	sys.MustDo(http.StatusOK, "GET", "/v1/campaigns/"+id+"/stats", nil, &got)
	want := hookflow.CampaignStats{Sends: 4, Delivered: 3, Errors: 1, Aborts: 1, UniqueRecipients: 3}
	if got != want {
		t.Errorf("stats = %+v, want %+v", got, want)
	}
	if rcv.Count() != 4 {
		t.Errorf("receiver got %d requests, want 4", rcv.Count())
	}
}
