// Command devserver runs the sodptest SODP server as a standalone process,
// for trying clients and examples against a local server.
//
//	go run ./examples/devserver -addr 127.0.0.1:7777 [-secret S] [-dialect spec|go|ts|rust] [-heartbeat 30s]
//
// It prints the server URL on stdout (and, with -secret, a token for the
// subject "dev" valid for 24 hours), logs connections and authentication on
// stderr, and exits cleanly on SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "devserver:", err)
		os.Exit(2)
	}
}

// run starts the server described by args, prints its URL (and a token with
// -secret) to stdout and serves until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("devserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:7777", "listen address")
	secret := fs.String("secret", "", "require an HS256 JWT signed with this secret")
	dialect := fs.String("dialect", "spec", "behaviour to reproduce: spec, go, ts or rust")
	heartbeat := fs.Duration("heartbeat", 0, "heartbeat interval (0: the dialect's default, 30s, or 25s for rust)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	d, err := sodp.ParseDialect(*dialect)
	if err != nil {
		return err
	}
	opts := []sodptest.Option{
		sodptest.WithAddr(*addr),
		sodptest.WithDialect(d),
		sodptest.WithLogger(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))),
		sodptest.WithMaxRecorded(10000),
	}
	if *secret != "" {
		opts = append(opts, sodptest.WithAuth([]byte(*secret)))
	}
	if *heartbeat > 0 {
		opts = append(opts, sodptest.WithHeartbeat(*heartbeat))
	}
	srv, err := start(opts)
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Fprintln(stdout, srv.URL)
	if *secret != "" {
		fmt.Fprintln(stdout, "token:", srv.Token("dev", 24*time.Hour))
	}
	<-ctx.Done()
	return nil
}

// start creates the server, turning a failure to listen into an error.
func start(opts []sodptest.Option) (srv *sodptest.Server, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return sodptest.NewServer(opts...), nil
}
