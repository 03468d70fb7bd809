// Command hookflow is the Hookflow webhook engine: "hookflow serve" runs the
// HTTP API and the senders in one process; "hookflow keys" manages API keys;
// "hookflow sink" prints the requests it receives, to watch webhooks arrive.
package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/alecthomas/kong"

	"github.com/hookflow/hookflow"
)

// cli is the command line. Every flag of serve can also be set with the
// HOOKFLOW_* environment variable named in its help.
type cli struct {
	Serve   serveCmd   `cmd:"" help:"Run the HTTP API and the webhook senders."`
	Keys    keysCmd    `cmd:"" help:"Create, list and revoke API keys."`
	Log     logCmd     `cmd:"" help:"Print the latest deliveries from the activity log."`
	Migrate migrateCmd `cmd:"" help:"Create or upgrade the database schema, then exit."`
	Sink    sinkCmd    `cmd:"" help:"Print every HTTP request received: a place to point webhooks while trying Hookflow."`
	Version versionCmd `cmd:"" help:"Print the version."`
}

// storeFlags are shared by every command that opens the store.
type storeFlags struct {
	DataDir     string `default:"./data" env:"HOOKFLOW_DATA_DIR" help:"Directory of the embedded SQLite database (serve and migrate create it if missing). Default ${default}."`
	DatabaseURL string `env:"HOOKFLOW_DATABASE_URL" help:"PostgreSQL URL (postgres://user@host:5432/db?search_path=schema) to use instead of SQLite; every node of a cluster names the same one. Default: none (SQLite in --data-dir)."`
}

// logFlags configure the process log.
type logFlags struct {
	LogFormat string `default:"text" enum:"text,json" env:"HOOKFLOW_LOG_FORMAT" help:"Log format: text or json."`
	LogLevel  string `default:"info" enum:"debug,info,warn,error" env:"HOOKFLOW_LOG_LEVEL" help:"Least severe level logged: debug, info, warn or error."`
}

func (f logFlags) logger() *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(strings.ToUpper(f.LogLevel)))
	opts := &slog.HandlerOptions{Level: level}
	if f.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

type versionCmd struct{}

func (versionCmd) Run() error {
	fmt.Println("hookflow", hookflow.Version)
	return nil
}

func main() {
	var c cli
	ctx := kong.Parse(&c,
		kong.Name("hookflow"),
		kong.Description("Hookflow: event-triggered webhooks, Braze-compatible."),
		kong.UsageOnError(),
		kong.Vars{"scopes": strings.Join(hookflow.KnownScopes, ", ")},
	)
	if err := ctx.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "hookflow:", err)
		os.Exit(1)
	}
}
