package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/hookflow/hookflow"
)

// logCmd prints the activity log from the database: the quickest look at
// what was sent and what came back, without an API key.
type logCmd struct {
	storeFlags
	Campaign string `help:"Only deliveries of this campaign id."`
	User     string `help:"Only deliveries to this external id or braze_id."`
	State    string `help:"Only deliveries in this state: pending, sending, delivered, failed, aborted, cancelled."`
	Limit    int    `default:"20" help:"How many deliveries, newest first. Default ${default}."`
}

func (c *logCmd) Run() error {
	if c.State != "" && !hookflow.KnownState(c.State) {
		return fmt.Errorf("--state must be pending, sending, delivered, failed, aborted or cancelled, not %q", c.State)
	}
	// The store would read 0 as its default of 100 and cap at 1000 unseen.
	if c.Limit < 1 || c.Limit > 1000 {
		return fmt.Errorf("--limit must be from 1 to 1000, not %d", c.Limit)
	}
	store, err := c.open(true)
	if err != nil {
		return err
	}
	defer store.Close()

	ds, err := store.ListDeliveries(context.Background(), hookflow.DeliveryFilter{
		CampaignID: c.Campaign, UserID: c.User, State: c.State, Limit: c.Limit,
	})
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "CREATED\tDELIVERY\tUSER\tSTATE\tTRIES\tSTATUS\tREQUEST\tDETAIL")
	for _, d := range ds {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n",
			d.CreatedAt.Local().Format(time.TimeOnly), d.ID, userOf(d), d.State, d.Attempts,
			statusOf(d), requestOf(d), detailOf(d))
	}
	return w.Flush()
}

func userOf(d *hookflow.Delivery) string {
	if d.ExternalID != "" {
		return d.ExternalID
	}
	return d.UserID
}

func statusOf(d *hookflow.Delivery) string {
	if d.LastStatus == 0 {
		return "-"
	}
	return fmt.Sprint(d.LastStatus)
}

func requestOf(d *hookflow.Delivery) string {
	if d.Request == nil && hookflow.Final(d.State) {
		return "-"
	}
	if d.Request == nil {
		return "(not rendered yet)"
	}
	return d.Request.Method + " " + d.Request.URL
}

func detailOf(d *hookflow.Delivery) string {
	switch {
	case d.AbortReason != "":
		return "aborted: " + d.AbortReason
	case d.State == hookflow.StatePending && d.Attempts > 0:
		return "retry at " + d.DueAt.Local().Format(time.TimeOnly) + " after: " + d.LastError
	case d.State == hookflow.StatePending && d.DueAt.After(time.Now()):
		return "due at " + d.DueAt.Local().Format(time.TimeOnly)
	}
	return d.LastError
}
