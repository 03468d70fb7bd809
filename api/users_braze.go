package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/intake"
)

// maxIdentityObjects is Braze's limit on the objects one /users/alias/new,
// /users/identify, /users/delete or /users/export/ids request may carry.
const maxIdentityObjects = 50

// aliasesResponse answers /users/alias/new and /users/identify, as Braze
// does: how many objects took effect, and why the others did not.
type aliasesResponse struct {
	AliasesProcessed int                `json:"aliases_processed"`
	Message          string             `json:"message"`
	Errors           []intake.ItemError `json:"errors,omitempty"`
}

// answer is 201 when something took effect, and 400 with the reasons when
// every object was refused, as /users/track answers.
func (a aliasesResponse) answer() (int, any, error) {
	if a.AliasesProcessed == 0 && len(a.Errors) > 0 {
		a.Message = "no valid objects: see errors"
		return http.StatusBadRequest, a, nil
	}
	a.Message = "success"
	return http.StatusCreated, a, nil
}

type newAliasInput struct {
	ExternalID string `json:"external_id"`
	Name       string `json:"alias_name"`
	Label      string `json:"alias_label"`
}

// aliasNew serves POST /users/alias/new: each object adds an alias to the
// user with its external_id, or, without one, creates an alias-only user.
func (s *Server) aliasNew(r *http.Request) (int, any, error) {
	var req struct {
		UserAliases []newAliasInput `json:"user_aliases"`
	}
	if err := decode(r, maxJSONBytes, &req); err != nil {
		return 0, nil, err
	}
	if err := checkCount("user_aliases", len(req.UserAliases), true); err != nil {
		return 0, nil, err
	}
	for i, in := range req.UserAliases {
		if err := checkAlias(fmt.Sprintf("user_aliases[%d]", i), in.Name, in.Label); err != nil {
			return 0, nil, err
		}
	}

	var out aliasesResponse
	err := s.update(r.Context(), func(tx hookflow.Tx) error {
		if err := lockUsers(tx, aliasNewRefs(req.UserAliases)); err != nil {
			return err
		}
		out = aliasesResponse{}
		for i, in := range req.UserAliases {
			reason, err := s.addAlias(tx, in)
			if err != nil {
				return err
			}
			out.count(reason, "user_aliases", i)
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return out.answer()
}

// count records one object's outcome: processed when reason is empty.
func (a *aliasesResponse) count(reason, array string, i int) {
	if reason == "" {
		a.AliasesProcessed++
		return
	}
	a.Errors = append(a.Errors, intake.ItemError{Type: reason, InputArray: array, Index: i})
}

// addAlias applies one /users/alias/new object. It returns why the object
// was refused, or "" when it took effect; an error fails the request.
func (s *Server) addAlias(tx hookflow.Tx, in newAliasInput) (string, error) {
	a := hookflow.Alias{Name: in.Name, Label: in.Label}
	// The pair is looked up first rather than left to the unique index:
	// on PostgreSQL a failed statement would abort the whole transaction.
	if _, err := tx.FindUser(hookflow.UserRef{Alias: &a}); err == nil {
		return fmt.Sprintf("alias_label %q with alias_name %q already names a user", a.Label, a.Name), nil
	} else if !errors.Is(err, hookflow.ErrNotFound) {
		return "", err
	}

	if in.ExternalID == "" {
		now := s.clock.Now()
		u := &hookflow.User{Aliases: []hookflow.Alias{a}, Attributes: map[string]any{}, CreatedAt: now, UpdatedAt: now}
		return "", tx.InsertUser(u)
	}
	u, err := tx.FindUser(hookflow.UserRef{ExternalID: in.ExternalID})
	if errors.Is(err, hookflow.ErrNotFound) {
		return fmt.Sprintf("no user with external_id %q", in.ExternalID), nil
	}
	if err != nil {
		return "", err
	}
	if name, ok := aliasName(u, a.Label); ok {
		return fmt.Sprintf("user with external_id %q already has alias_name %q for alias_label %q", in.ExternalID, name, a.Label), nil
	}
	return "", tx.AddAlias(u.ID, a)
}

// aliasNewRefs lists the users /users/alias/new may change: those it adds
// an alias to, and those the new pairs may already name.
func aliasNewRefs(in []newAliasInput) []hookflow.UserRef {
	var refs []hookflow.UserRef
	for _, a := range in {
		refs = append(refs, hookflow.UserRef{Alias: &hookflow.Alias{Name: a.Name, Label: a.Label}})
		if a.ExternalID != "" {
			refs = append(refs, hookflow.UserRef{ExternalID: a.ExternalID})
		}
	}
	return refs
}

// identifyRefs lists the users /users/identify may merge: each alias-only
// profile and the profile of the external id it joins.
func identifyRefs(in []identifyInput) []hookflow.UserRef {
	var refs []hookflow.UserRef
	for _, a := range in {
		refs = append(refs, hookflow.UserRef{Alias: a.UserAlias}, hookflow.UserRef{ExternalID: a.ExternalID})
	}
	return refs
}

// aliasName returns the user's alias name for label.
func aliasName(u *hookflow.User, label string) (string, bool) {
	for _, a := range u.Aliases {
		if a.Label == label {
			return a.Name, true
		}
	}
	return "", false
}

type identifyInput struct {
	ExternalID string          `json:"external_id"`
	UserAlias  *hookflow.Alias `json:"user_alias"`
}

// identify serves POST /users/identify: each object gives an alias-only
// profile an external id, merging it into the profile that already has
// that external id if there is one.
func (s *Server) identify(r *http.Request) (int, any, error) {
	var req struct {
		AliasesToIdentify []identifyInput `json:"aliases_to_identify"`
	}
	if err := decode(r, maxJSONBytes, &req); err != nil {
		return 0, nil, err
	}
	if err := checkCount("aliases_to_identify", len(req.AliasesToIdentify), true); err != nil {
		return 0, nil, err
	}
	for i, in := range req.AliasesToIdentify {
		field := fmt.Sprintf("aliases_to_identify[%d]", i)
		if in.ExternalID == "" {
			return 0, nil, hookflow.Invalid(field+".external_id", "is required")
		}
		if in.UserAlias == nil {
			return 0, nil, hookflow.Invalid(field+".user_alias", "is required")
		}
		if err := checkAlias(field+".user_alias", in.UserAlias.Name, in.UserAlias.Label); err != nil {
			return 0, nil, err
		}
	}

	var out aliasesResponse
	err := s.update(r.Context(), func(tx hookflow.Tx) error {
		if err := lockUsers(tx, identifyRefs(req.AliasesToIdentify)); err != nil {
			return err
		}
		out = aliasesResponse{}
		for i, in := range req.AliasesToIdentify {
			reason, err := s.identifyOne(tx, in)
			if err != nil {
				return err
			}
			out.count(reason, "aliases_to_identify", i)
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return out.answer()
}

// identifyOne applies one /users/identify object, returning why it was
// refused or "" when it took effect.
func (s *Server) identifyOne(tx hookflow.Tx, in identifyInput) (string, error) {
	a := *in.UserAlias
	anon, err := tx.FindUser(hookflow.UserRef{Alias: &a})
	if errors.Is(err, hookflow.ErrNotFound) {
		return fmt.Sprintf("no user with alias_label %q and alias_name %q", a.Label, a.Name), nil
	}
	if err != nil {
		return "", err
	}
	switch anon.ExternalID {
	case in.ExternalID:
		return "", nil // identified already: asking twice is not an error
	case "":
	default:
		return fmt.Sprintf("alias_label %q with alias_name %q belongs to external_id %q", a.Label, a.Name, anon.ExternalID), nil
	}

	known, err := tx.FindUser(hookflow.UserRef{ExternalID: in.ExternalID})
	if errors.Is(err, hookflow.ErrNotFound) {
		anon.ExternalID, anon.UpdatedAt = in.ExternalID, s.clock.Now()
		return "", tx.UpdateUser(anon)
	}
	if err != nil {
		return "", err
	}
	if name, ok := aliasName(known, a.Label); ok {
		return fmt.Sprintf("user with external_id %q already has alias_name %q for alias_label %q", in.ExternalID, name, a.Label), nil
	}
	return "", s.merge(tx, anon, known)
}

// merge folds the alias-only profile anon into known: attributes known
// lacks are copied, anon's aliases whose label known does not use yet are
// kept on known, and anon's events and deliveries move to it.
func (s *Server) merge(tx hookflow.Tx, anon, known *hookflow.User) error {
	if known.Attributes == nil {
		known.Attributes = map[string]any{}
	}
	for k, v := range anon.Attributes {
		if _, ok := known.Attributes[k]; !ok {
			known.Attributes[k] = v
		}
	}
	for _, a := range anon.Aliases {
		if _, ok := aliasName(known, a.Label); !ok {
			known.Aliases = append(known.Aliases, a)
		}
	}
	// The merge deletes anon and its aliases first, so that they are free
	// when UpdateUser stores them on known.
	if err := tx.MergeUser(anon.ID, known.ID); err != nil {
		return err
	}
	known.UpdatedAt = s.clock.Now()
	return tx.UpdateUser(known)
}

// deleteResponse is Braze's answer to /users/delete.
type deleteResponse struct {
	Deleted int    `json:"deleted"`
	Message string `json:"message"`
}

// usersDelete serves POST /users/delete: it deletes the named profiles with
// their aliases and events. Their deliveries stay in the activity log.
// Unknown users are not counted, as Braze counts only what it deleted.
func (s *Server) usersDelete(r *http.Request) (int, any, error) {
	var req struct {
		ExternalIDs    []string         `json:"external_ids"`
		UserAliases    []hookflow.Alias `json:"user_aliases"`
		BrazeIDs       []string         `json:"braze_ids"`
		EmailAddresses []string         `json:"email_addresses"`
		PhoneNumbers   []string         `json:"phone_numbers"`
	}
	if err := decode(r, maxJSONBytes, &req); err != nil {
		return 0, nil, err
	}
	if len(req.EmailAddresses)+len(req.PhoneNumbers) > 0 {
		return 0, nil, hookflow.Invalid("", "deleting users by email_addresses or phone_numbers is not supported; name them by external_ids, user_aliases or braze_ids")
	}
	refs, err := userRefs(req.ExternalIDs, req.UserAliases, req.BrazeIDs)
	if err != nil {
		return 0, nil, err
	}

	var deleted int
	err = s.update(r.Context(), func(tx hookflow.Tx) error {
		if err := lockUsers(tx, refs); err != nil {
			return err
		}
		deleted = 0
		for _, ref := range refs {
			u, err := tx.FindUser(ref)
			if errors.Is(err, hookflow.ErrNotFound) {
				continue // unknown, or named twice in this request
			}
			if err != nil {
				return err
			}
			if err := tx.DeleteUser(u.ID); err != nil {
				return err
			}
			deleted++
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	s.log.Info("users deleted", "count", deleted)
	return http.StatusAccepted, deleteResponse{Deleted: deleted, Message: "success"}, nil
}

// userRefs validates the identifier lists of /users/delete: at least one
// and at most maxIdentityObjects in all, none empty.
func userRefs(externalIDs []string, aliases []hookflow.Alias, brazeIDs []string) ([]hookflow.UserRef, error) {
	n := len(externalIDs) + len(aliases) + len(brazeIDs)
	if n == 0 {
		return nil, hookflow.Invalid("", "name the users to delete in external_ids, user_aliases or braze_ids")
	}
	if n > maxIdentityObjects {
		return nil, hookflow.Invalid("", "%d users named; at most %d are allowed per request", n, maxIdentityObjects)
	}
	var refs []hookflow.UserRef
	for i, id := range externalIDs {
		if id == "" {
			return nil, hookflow.Invalid(fmt.Sprintf("external_ids[%d]", i), "is empty")
		}
		refs = append(refs, hookflow.UserRef{ExternalID: id})
	}
	for i := range aliases {
		a := &aliases[i]
		if err := checkAlias(fmt.Sprintf("user_aliases[%d]", i), a.Name, a.Label); err != nil {
			return nil, err
		}
		refs = append(refs, hookflow.UserRef{Alias: a})
	}
	for i, id := range brazeIDs {
		if id == "" {
			return nil, hookflow.Invalid(fmt.Sprintf("braze_ids[%d]", i), "is empty")
		}
		refs = append(refs, hookflow.UserRef{BrazeID: id})
	}
	return refs, nil
}

// checkCount checks the length of an array of objects.
func checkCount(field string, n int, required bool) error {
	if n == 0 && required {
		return hookflow.Invalid(field, "is required and must not be empty")
	}
	if n > maxIdentityObjects {
		return hookflow.Invalid(field, "has %d entries; at most %d are allowed per request", n, maxIdentityObjects)
	}
	return nil
}

// checkAlias checks that a user_alias object has both its parts.
func checkAlias(field, name, label string) error {
	switch {
	case name == "":
		return hookflow.Invalid(field+".alias_name", "is required")
	case label == "":
		return hookflow.Invalid(field+".alias_label", "is required")
	}
	return nil
}
