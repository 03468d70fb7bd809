package api

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/trigger"
)

// maxSendIDsPerDay is Braze's limit on /sends/id/create per workspace.
const maxSendIDsPerDay = 100

// sendIDQuota counts send ids created per UTC day. It lives in memory on
// each node: a restart or a second node each allow another 100.
type sendIDQuota struct {
	mu    sync.Mutex
	day   string
	count int
}

// take uses one of the day's send ids, reporting false when none is left.
func (q *sendIDQuota) take(now time.Time) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	day := now.UTC().Format(time.DateOnly)
	if day != q.day {
		q.day, q.count = day, 0
	}
	if q.count >= maxSendIDsPerDay {
		return false
	}
	q.count++
	return true
}

// brazeSendIDCreate serves POST /sends/id/create: it checks the campaign
// and the send id (making one when none is given). Send ids need no
// storage: deliveries carry them and /sends/data_series counts those.
func (s *Server) brazeSendIDCreate(r *http.Request) (int, any, error) {
	var req struct {
		CampaignID string `json:"campaign_id"`
		SendID     string `json:"send_id"`
	}
	if err := decode(r, maxJSONBytes, &req); err != nil {
		return 0, nil, err
	}
	if req.CampaignID == "" {
		return 0, nil, hookflow.Invalid("campaign_id", "is required")
	}
	if err := checkSendID("send_id", req.SendID); err != nil {
		return 0, nil, err
	}
	if _, err := s.store.GetCampaign(r.Context(), req.CampaignID); err != nil {
		return 0, nil, campaignErr(req.CampaignID, err)
	}
	if !s.sendIDs.take(s.clock.Now()) {
		return 0, nil, errorf(http.StatusTooManyRequests, "at most %d send ids can be created per day", maxSendIDsPerDay)
	}
	if req.SendID == "" {
		req.SendID = "snd_" + hookflow.NewDispatchID()[4:]
	}
	return http.StatusCreated, map[string]string{"send_id": req.SendID, "message": "success"}, nil
}

// checkSendID applies Braze's rule to the send id in field: printable
// ASCII, at most 64 characters.
func checkSendID(field, id string) error {
	if len(id) > 64 {
		return hookflow.Invalid(field, "is longer than 64 characters")
	}
	for _, c := range []byte(id) {
		if c < 0x20 || c > 0x7e {
			return hookflow.Invalid(field, "must be printable ASCII")
		}
	}
	return nil
}

func campaignErr(id string, err error) error {
	if errors.Is(err, hookflow.ErrNotFound) {
		return errorf(http.StatusNotFound, "campaign_id: no campaign %q", id)
	}
	return fmt.Errorf("reading campaign %s: %w", id, err)
}

// brazeSendsDataSeries serves GET /sends/data_series: the per-day counts
// of the campaign's deliveries with that send id.
func (s *Server) brazeSendsDataSeries(r *http.Request) (int, any, error) {
	c, err := s.brazeCampaign(r)
	if err != nil {
		return 0, nil, err
	}
	sendID := r.URL.Query().Get("send_id")
	if sendID == "" {
		return 0, nil, hookflow.Invalid("send_id", "is required")
	}
	days, err := s.seriesRange(r)
	if err != nil {
		return 0, nil, err
	}
	data, err := s.series(r, hookflow.DeliveryFilter{CampaignID: c.ID}, days, variationID(c.ID),
		func(d *hookflow.Delivery) bool { return d.SendID == sendID })
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"data": data, "message": "success"}, nil
}

// transactionalRequest is the body of Braze's transactional send.
type transactionalRequest struct {
	ExternalSendID    string                  `json:"external_send_id"`
	TriggerProperties map[string]any          `json:"trigger_properties"`
	Recipient         *transactionalRecipient `json:"recipient"`
}

type transactionalRecipient struct {
	ExternalUserID     string         `json:"external_user_id"`
	Attributes         map[string]any `json:"attributes"`
	SendToExistingOnly *bool          `json:"send_to_existing_only"`
}

// brazeTransactionalSend serves POST
// /transactional/v1/campaigns/{campaign_id}/send: one recipient of an
// active api_triggered campaign, sent the way /campaigns/trigger/send
// sends. external_send_id becomes the deliveries' send id.
func (s *Server) brazeTransactionalSend(r *http.Request) (int, any, error) {
	var req transactionalRequest
	if err := decode(r, maxJSONBytes, &req); err != nil {
		return 0, nil, err
	}
	if req.Recipient == nil || req.Recipient.ExternalUserID == "" {
		return 0, nil, hookflow.Invalid("recipient.external_user_id", "is required")
	}
	if err := checkSendID("external_send_id", req.ExternalSendID); err != nil {
		return 0, nil, err
	}
	in := recipientInput{
		ExternalUserID:     req.Recipient.ExternalUserID,
		Attributes:         req.Recipient.Attributes,
		SendToExistingOnly: req.Recipient.SendToExistingOnly,
	}
	send, err := s.buildSend(req.ExternalSendID, req.TriggerProperties, false, nil, []recipientInput{in})
	if err != nil {
		return 0, nil, err
	}

	var res *trigger.SendResult
	err = s.update(r.Context(), func(tx hookflow.Tx) error {
		res, err = s.sendCampaign(tx, r.PathValue("campaign_id"), send)
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	if _, _, err := s.sent(send, res); err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, map[string]string{"dispatch_id": send.DispatchID, "status": "queued", "message": "success"}, nil
}
