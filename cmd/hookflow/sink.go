package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/hookflow/hookflow/sink"
)

type sinkCmd struct {
	Listen string `default:"127.0.0.1:9000" env:"HOOKFLOW_SINK_LISTEN" help:"Address to listen on. Default ${default}."`
	Status int    `default:"200" help:"Status code to answer every request with. Default ${default}."`
	JSON   bool   `help:"Print one JSON object per request instead of the readable form."`
}

func (c *sinkCmd) Run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return sink.Run(ctx, sink.Options{Addr: c.Listen, Status: c.Status, Out: os.Stdout, JSON: c.JSON})
}
