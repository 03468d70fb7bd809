package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/api"
)

type keysCmd struct {
	Create keysCreateCmd `cmd:"" help:"Create an API key and print its secret once."`
	List   keysListCmd   `cmd:"" help:"List API keys (never their secrets)."`
	Revoke keysRevokeCmd `cmd:"" help:"Revoke an API key by id."`
}

type keysCreateCmd struct {
	storeFlags
	Name   string   `required:"" help:"A name to tell the key apart, e.g. ops."`
	Scopes []string `default:"all" help:"Comma-separated permissions: ${scopes}. Default: all." sep:","`
	// AllowedIPs is kept as one string so ParseAllowedIPs reports the bad
	// item by name.
	AllowedIPs string `name:"allowed-ips" help:"Comma-separated CIDRs and addresses callers of this key must come from, e.g. 10.0.0.0/8,203.0.113.7. Default: any."`
}

func (c *keysCreateCmd) Run() error {
	for _, s := range c.Scopes {
		if !slices.Contains(hookflow.KnownScopes, s) {
			return fmt.Errorf("unknown scope %q; known scopes: %s", s, strings.Join(hookflow.KnownScopes, ", "))
		}
	}
	ips, err := api.ParseAllowedIPs(c.AllowedIPs)
	if err != nil {
		return err
	}
	store, err := c.open(false)
	if err != nil {
		return err
	}
	defer store.Close()

	key, secret := api.NewKey(c.Name, c.Scopes, time.Now().UTC())
	key.AllowedIPs = ips
	if err := store.CreateKey(context.Background(), key); err != nil {
		return fmt.Errorf("storing key: %w", err)
	}
	fmt.Printf("created key %s (%s) with scopes %s\n", key.ID, key.Name, strings.Join(key.Scopes, ","))
	fmt.Println("secret (shown only now; send it as 'Authorization: Bearer <secret>'):")
	fmt.Println(secret)
	return nil
}

type keysListCmd struct{ storeFlags }

func (c *keysListCmd) Run() error {
	store, err := c.open(true)
	if err != nil {
		return err
	}
	defer store.Close()
	keys, err := store.ListKeys(context.Background())
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tNAME\tPREFIX\tSCOPES\tCREATED\tREVOKED")
	for _, k := range keys {
		revoked := "-"
		if !k.RevokedAt.IsZero() {
			revoked = k.RevokedAt.Format(time.RFC3339)
		}
		fmt.Fprintf(w, "%s\t%s\t%s…\t%s\t%s\t%s\n", k.ID, k.Name, k.Prefix, strings.Join(k.Scopes, ","),
			k.CreatedAt.Format(time.RFC3339), revoked)
	}
	return w.Flush()
}

type keysRevokeCmd struct {
	storeFlags
	ID string `arg:"" help:"Id of the key to revoke (see 'hookflow keys list')."`
}

func (c *keysRevokeCmd) Run() error {
	store, err := c.open(true)
	if err != nil {
		return err
	}
	defer store.Close()
	err = store.RevokeKey(context.Background(), c.ID, time.Now().UTC())
	if errors.Is(err, hookflow.ErrNotFound) {
		return fmt.Errorf("no key %q in %s; 'hookflow keys list' shows the ids", c.ID, c.where())
	}
	if err != nil {
		// The store's error already says "revoking key <id>".
		return err
	}
	fmt.Println("revoked", c.ID)
	return nil
}

type migrateCmd struct {
	storeFlags
	logFlags
}

// Run logs each migration it applies ("migration applied version=N"), so
// an operator sees what an upgrade changed; none logged means there was
// nothing to apply.
func (c *migrateCmd) Run() error {
	store, err := c.openLogged(context.Background(), false, c.logger())
	if err != nil {
		return err
	}
	fmt.Println("database is up to date:", c.where())
	return store.Close()
}
