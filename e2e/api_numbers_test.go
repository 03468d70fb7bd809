package e2e

import "testing"

// A number no float64 can hold is refused with the request, never stored:
// stored, it could not be read back, and the queue would stall on it.
func TestAPITriggerSendRefusesHugeNumbers(t *testing.T) {
	e := apStart(t)
	id := e.apAPICampaign("n", "n", "{{api_trigger_properties.${n}}}")
	before := e.apSnapshot()

	status, body := e.sys.Do("POST", "/campaigns/trigger/send",
		`{"campaign_id": "`+id+`", "recipients": [
			{"external_user_id": "a", "send_to_existing_only": false},
			{"external_user_id": "b", "send_to_existing_only": false, "trigger_properties": {"n": 1e400}}]}`)
	apError(t, status, body, 400, "recipients[1].trigger_properties: number 1e400 is out of range")

	status, body = e.sys.Do("POST", "/campaigns/trigger/send",
		`{"campaign_id": "`+id+`", "trigger_properties": {"x": [1, -1e999]}, "broadcast": true}`)
	apError(t, status, body, 400, "trigger_properties: number -1e999 is out of range")

	if after := e.apSnapshot(); after != before {
		t.Errorf("refused sends changed the store:\nbefore %s\nafter  %s", before, after)
	}
}
