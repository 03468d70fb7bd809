package api

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/intake"
	"github.com/hookflow/hookflow/signature"
)

// Signing settings of campaigns: Hookflow generates the secrets, shows a new
// secret once (in the response that created it) and afterwards only its id
// and first characters. Every campaign response goes through campaignView,
// the one place that decides what of a campaign a caller sees.

// signingInput is the "signing" object of a campaign body.
type signingInput struct {
	Enabled *bool `json:"enabled"`
}

// signingView is a campaign's signing as API responses show it. Secret is
// set only in the response that created it.
type signingView struct {
	Enabled bool         `json:"enabled"`
	Secret  string       `json:"secret,omitempty"`
	Secrets []secretView `json:"secrets"`
}

// secretView shows a secret without its key.
type secretView struct {
	ID        string     `json:"id"`
	Prefix    string     `json:"prefix"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// campaignView is a campaign as API responses show it: the webhook without
// its secrets, and a signing summary in their place.
type campaignView struct {
	*hookflow.Campaign
	Webhook hookflow.Webhook `json:"webhook"`
	Signing *signingView     `json:"signing,omitempty"`
}

// viewCampaign returns c as callers see it; newSecret, when set, is shown
// once as signing.secret.
func viewCampaign(c *hookflow.Campaign, newSecret string) campaignView {
	v := campaignView{Campaign: c, Webhook: c.Webhook}
	v.Webhook.Signing = nil
	if sg := c.Webhook.Signing; sg != nil {
		v.Signing = viewSigning(sg, newSecret)
	}
	return v
}

func viewSigning(sg *hookflow.Signing, newSecret string) *signingView {
	v := &signingView{Enabled: true, Secret: newSecret, Secrets: []secretView{}}
	for _, sec := range sg.Secrets {
		v.Secrets = append(v.Secrets, secretView{
			ID: sec.ID, Prefix: secretPrefix(sec.Secret), CreatedAt: sec.CreatedAt, ExpiresAt: sec.ExpiresAt,
		})
	}
	return v
}

// secretPrefix is enough of a secret to tell secrets apart, and far too
// little to guess the rest.
func secretPrefix(secret string) string {
	const shown = len(signature.SecretPrefix) + 4
	if len(secret) <= shown {
		return secret
	}
	return secret[:shown] + "…"
}

// applySigning sets c's signing from in: absent keeps what c has, enabled
// false removes the secrets, enabled true keeps existing secrets or makes
// the first one, which it returns so the response can show it once.
func applySigning(c *hookflow.Campaign, in *signingInput, now time.Time) (newSecret string, err error) {
	switch {
	case in == nil:
		return "", nil
	case in.Enabled == nil:
		return "", hookflow.Invalid("signing.enabled", "is required: true or false")
	case !*in.Enabled:
		c.Webhook.Signing = nil
		return "", nil
	case c.Webhook.Signing != nil && len(c.Webhook.Signing.Secrets) > 0:
		return "", nil
	}
	sec := newSigningSecret(now)
	c.Webhook.Signing = &hookflow.Signing{Secrets: []hookflow.SigningSecret{sec}}
	return sec.Secret, nil
}

func newSigningSecret(now time.Time) hookflow.SigningSecret {
	var b [8]byte
	rand.Read(b[:])
	return hookflow.SigningSecret{ID: "sec_" + hex.EncodeToString(b[:]), Secret: signature.NewSecret(), CreatedAt: now}
}

// Rotation limits.
const (
	defaultOverlap = 24 * time.Hour
	maxOverlap     = 30 * 24 * time.Hour
	// maxSecrets bounds the secrets signing at once, so repeated rotations
	// cannot make every attempt carry an ever longer signature header.
	maxSecrets = 5
)

type rotateInput struct {
	// OverlapSeconds is how long the replaced secrets keep signing;
	// absent means a day.
	OverlapSeconds *int64 `json:"overlap_seconds"`
}

// rotateSigning serves POST /v1/campaigns/{id}/signing/rotate: a new
// current secret, shown once; the previous ones keep signing until now +
// overlap, so receivers can switch without rejecting a delivery.
func (s *Server) rotateSigning(r *http.Request) (int, any, error) {
	overlap, err := rotateOverlap(r)
	if err != nil {
		return 0, nil, err
	}
	c, err := s.campaign(r)
	if err != nil {
		return 0, nil, err
	}
	sg := c.Webhook.Signing
	if sg == nil || len(sg.Secrets) == 0 {
		return 0, nil, errorf(http.StatusConflict, "campaign %s is not signed; enable signing with PUT and \"signing\": {\"enabled\": true}", c.ID)
	}

	now := s.clock.Now()
	kept := retire(sg.Secrets, now, now.Add(overlap))
	if len(kept) >= maxSecrets {
		return 0, nil, errorf(http.StatusConflict, "campaign %s already has %d valid secrets; wait until one expires", c.ID, len(kept))
	}
	sec := newSigningSecret(now)
	c.Webhook.Signing = &hookflow.Signing{Secrets: append([]hookflow.SigningSecret{sec}, kept...)}
	c.UpdatedAt = now
	if err := s.store.UpdateCampaign(r.Context(), c); err != nil {
		return 0, nil, conflict(c, err)
	}
	s.log.Info("signing secret rotated", "campaign_id", c.ID, "secret_id", sec.ID, "overlap", overlap)
	return http.StatusOK, viewCampaign(c, sec.Secret), nil
}

func rotateOverlap(r *http.Request) (time.Duration, error) {
	var in rotateInput
	if err := decodeOptional(r, &in); err != nil {
		return 0, err
	}
	if in.OverlapSeconds == nil {
		return defaultOverlap, nil
	}
	overlap := time.Duration(*in.OverlapSeconds) * time.Second
	if *in.OverlapSeconds < 0 || overlap > maxOverlap {
		return 0, hookflow.Invalid("overlap_seconds", "must be between 0 and %d (30 days)", int64(maxOverlap/time.Second))
	}
	return overlap, nil
}

// retire gives the secrets being replaced an expiry of until (keeping an
// earlier one), and drops those no longer valid at now.
func retire(secrets []hookflow.SigningSecret, now, until time.Time) []hookflow.SigningSecret {
	var kept []hookflow.SigningSecret
	for _, sec := range secrets {
		if sec.ExpiresAt == nil || sec.ExpiresAt.After(until) {
			sec.ExpiresAt = &until
		}
		if now.Before(*sec.ExpiresAt) {
			kept = append(kept, sec)
		}
	}
	return kept
}

// messageSigning turns the signing_secret of a /messages/send webhook
// (a Hookflow extension of Braze's webhook object) into the message's
// signing. The secret is stored with the message and never shown again.
func messageSigning(secret string, now time.Time) (*hookflow.Signing, error) {
	if secret == "" {
		return nil, nil
	}
	if _, err := signature.ParseSecret(secret); err != nil {
		// The error never repeats the secret.
		return nil, hookflow.Invalid("messages.webhook.signing_secret",
			"must be \"whsec_\" followed by the base64 of %d to %d random bytes", signature.MinSecretBytes, signature.MaxSecretBytes)
	}
	return &hookflow.Signing{Secrets: []hookflow.SigningSecret{{ID: "message", Secret: secret, CreatedAt: now}}}, nil
}

// decodeOptional is decode for bodies that may be left out: an empty body
// leaves v as it is.
func decodeOptional(r *http.Request, v any) error {
	body, err := intake.ReadBody(r, maxJSONBytes)
	if err != nil || len(bytes.TrimSpace(body)) == 0 {
		return err
	}
	return decodeBytes(body, v)
}
