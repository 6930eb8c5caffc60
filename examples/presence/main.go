// Command presence shows collaborative cursors built on SODP presence.
//
// Two clients, alice and bob, publish their cursor under one key
// (doc.cursors, at /alice and /bob) and both watch it. Presence entries
// live as long as their connection: when bob's connection is cut abruptly,
// the server removes his cursor and alice sees it go; bob's client then
// reconnects by itself and re-sends its presence, so his cursor comes back
// without any code in the application.
//
// With no server given, the program starts an embedded test server, which
// lets it cut bob's connection from the server side. With -url (or
// $SODP_URL) it uses that server instead; a connection cannot be cut from
// here then, so bob leaves by closing his client, which removes his cursor
// just the same.
//
//	go run ./examples/presence
//	SODP_URL=ws://localhost:7777 SODP_TOKEN=... go run ./examples/presence
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

// cursorsKey is the key every client publishes its cursor under.
const cursorsKey = "doc.cursors"

// Cursor is one user's cursor position, stored at /NAME in doc.cursors.
type Cursor struct {
	X int `msgpack:"x"`
	Y int `msgpack:"y"`
}

// Cursors is the value of doc.cursors: user name → cursor.
type Cursors map[string]Cursor

func (cs Cursors) String() string {
	if len(cs) == 0 {
		return "{}"
	}
	parts := make([]string, 0, len(cs))
	for _, name := range slices.Sorted(maps.Keys(cs)) {
		parts = append(parts, fmt.Sprintf("%s@(%d,%d)", name, cs[name].X, cs[name].Y))
	}
	return "{" + strings.Join(parts, " ") + "}"
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run parses args, runs the demo and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("presence", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", os.Getenv("SODP_URL"), "SODP server URL (default $SODP_URL, else an embedded test server)")
	token := fs.String("token", os.Getenv("SODP_TOKEN"), "token for an external server (default $SODP_TOKEN)")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "presence: unexpected arguments %q\n", fs.Args())
		fs.Usage()
		return 2
	}

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	var err error
	if *url == "" {
		err = runEmbedded(ctx, stdout)
	} else {
		err = runExternal(ctx, *url, *token, stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "presence:", err)
		return 1
	}
	return 0
}

// runEmbedded runs the whole demo against an in-process server that
// requires tokens, so that each connection can be told apart by its
// authenticated subject.
func runEmbedded(ctx context.Context, out io.Writer) error {
	srv := sodptest.NewServer(sodptest.WithAuth([]byte("presence-demo")))
	defer srv.Close()
	fmt.Fprintf(out, "no server URL given: using an embedded test server at %s\n", srv.URL)

	d := &demo{out: out}
	defer d.close()
	if err := d.connect(ctx, srv.URL, srv.Token("alice", time.Hour), srv.Token("bob", time.Hour)); err != nil {
		return err
	}
	if err := d.publish(ctx); err != nil {
		return err
	}

	conn := findConn(srv, "bob")
	if conn == nil {
		return errors.New("bob's connection not found on the server")
	}
	d.step("cutting bob's connection #%d on the server (no close frame, as a network failure would)", conn.ID())
	conn.Close()
	if _, err := d.awaitAlice(ctx, "bob's cursor is removed by the server", func(cs Cursors) bool {
		_, ok := cs["bob"]
		return !ok
	}); err != nil {
		return err
	}

	if err := awaitState(ctx, d.bob.client.Events(), sodp.StateReconnecting); err != nil {
		return fmt.Errorf("bob's client did not notice the cut: %w", err)
	}
	d.step("bob's client noticed the cut and is reconnecting by itself")
	if err := awaitState(ctx, d.bob.client.Events(), sodp.StateLive); err != nil {
		return fmt.Errorf("bob's client did not reconnect: %w", err)
	}
	d.step("bob's client is live again (reconnects: %d) and re-sends his presence", d.bob.client.Stats().Reconnects)

	v, err := d.awaitAlice(ctx, "bob's cursor is back", func(cs Cursors) bool {
		return cs["bob"] == bobMoved
	})
	if err != nil {
		return err
	}
	return d.showBob(ctx, v)
}

// runExternal runs the parts of the demo that need no control over the
// server: publish, watch, and leave by closing the client.
func runExternal(ctx context.Context, url, token string, out io.Writer) error {
	fmt.Fprintf(out, "using the server at %s\n", url)
	fmt.Fprintln(out, "note: a connection cannot be cut from here with an external server;")
	fmt.Fprintln(out, "      bob leaves by closing his client, which removes his cursor the same way")

	d := &demo{out: out}
	defer d.close()
	if err := d.connect(ctx, url, token, token); err != nil {
		return err
	}
	if err := d.publish(ctx); err != nil {
		return err
	}
	d.step("bob closes his client")
	d.bob.close()
	_, err := d.awaitAlice(ctx, "bob's cursor is removed by the server", func(cs Cursors) bool {
		_, ok := cs["bob"]
		return !ok
	})
	return err
}

// The cursor positions the demo publishes.
var (
	aliceAt  = Cursor{X: 10, Y: 4}
	bobAt    = Cursor{X: 3, Y: 12}
	bobMoved = Cursor{X: 7, Y: 15}
)

// peer is one user: a client and its subscription to doc.cursors.
type peer struct {
	name   string
	client *sodp.Client
	ref    sodp.Ref[Cursors]
	sub    *sodp.Subscription[Cursors]
}

func (p *peer) close() {
	if p == nil {
		return
	}
	if p.sub != nil {
		p.sub.Close()
	}
	p.client.Close()
}

// demo holds the two peers and prints each step.
type demo struct {
	out        io.Writer
	alice, bob *peer
}

func (d *demo) step(format string, args ...any) {
	fmt.Fprintf(d.out, "* "+format+"\n", args...)
}

func (d *demo) close() {
	d.bob.close()
	d.alice.close()
}

// connect dials both clients and starts their subscriptions. Alice's
// subscription is buffered so that she sees every step; bob's is
// conflated, as he only reads it at the end.
func (d *demo) connect(ctx context.Context, url, aliceToken, bobToken string) error {
	var err error
	if d.alice, err = dialPeer(ctx, "alice", url, aliceToken, sodp.WithBuffer(16)); err != nil {
		return err
	}
	if d.bob, err = dialPeer(ctx, "bob", url, bobToken); err != nil {
		return err
	}
	d.step("alice and bob are connected and watch %s", cursorsKey)
	_, err = d.awaitAlice(ctx, "alice's first view", func(Cursors) bool { return true })
	return err
}

func dialPeer(ctx context.Context, name, url, token string, opts ...sodp.WatchOption) (*peer, error) {
	client, err := sodp.Dial(ctx, url,
		sodp.WithToken(token),
		sodp.WithBackoff(100*time.Millisecond, time.Second))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &peer{name: name, client: client, ref: sodp.Key[Cursors](client, cursorsKey)}
	if p.sub, err = p.ref.Watch(ctx, opts...); err != nil {
		client.Close()
		return nil, fmt.Errorf("%s: watch %s: %w", name, cursorsKey, err)
	}
	return p, nil
}

// publish has alice and bob place their cursors, then bob moves his.
func (d *demo) publish(ctx context.Context) error {
	moves := []struct {
		who *peer
		at  Cursor
	}{
		{d.alice, aliceAt},
		{d.bob, bobAt},
		{d.bob, bobMoved},
	}
	for _, m := range moves {
		d.step("%s publishes presence /%s = (%d,%d)", m.who.name, m.who.name, m.at.X, m.at.Y)
		if _, err := m.who.ref.Presence(ctx, "/"+m.who.name, m.at); err != nil {
			return fmt.Errorf("%s: presence: %w", m.who.name, err)
		}
		name, at := m.who.name, m.at
		if _, err := d.awaitAlice(ctx, name+"'s cursor is in place", func(cs Cursors) bool {
			return cs[name] == at
		}); err != nil {
			return err
		}
	}
	return nil
}

// awaitAlice prints every update alice receives until one satisfies done,
// and returns that update's version.
func (d *demo) awaitAlice(ctx context.Context, what string, done func(Cursors) bool) (uint64, error) {
	for {
		select {
		case u, ok := <-d.alice.sub.Updates():
			if !ok {
				return 0, fmt.Errorf("alice's subscription ended: %w", d.alice.sub.Err())
			}
			if u.Err != nil {
				fmt.Fprintf(d.out, "  alice sees v%d (%s): unreadable value: %v\n", u.Version, u.Kind, u.Err)
				continue
			}
			fmt.Fprintf(d.out, "  alice sees v%d (%s): %s\n", u.Version, u.Kind, u.Value)
			if done(u.Value) {
				return u.Version, nil
			}
		case <-ctx.Done():
			return 0, fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		}
	}
}

// showBob prints bob's own copy once it has caught up with version v.
func (d *demo) showBob(ctx context.Context, v uint64) error {
	if err := d.bob.ref.WaitVersion(ctx, v); err != nil {
		return fmt.Errorf("bob: wait for v%d: %w", v, err)
	}
	u, err := d.bob.ref.Cached(ctx)
	if err != nil {
		return fmt.Errorf("bob: read %s: %w", cursorsKey, err)
	}
	fmt.Fprintf(d.out, "  bob sees v%d (his watch survived the reconnect): %s\n", u.Version, u.Value)
	return nil
}

// findConn returns the server connection authenticated as sub.
func findConn(srv *sodptest.Server, sub string) *sodptest.Conn {
	for _, c := range srv.Conns() {
		if c.Sub() == sub {
			return c
		}
	}
	return nil
}

// awaitState reads events until one reports state want.
func awaitState(ctx context.Context, events <-chan sodp.Event, want sodp.ConnState) error {
	for {
		select {
		case e, ok := <-events:
			if !ok {
				return sodp.ErrClosed
			}
			if e.State == want {
				return nil
			}
			if e.State == sodp.StateFailed {
				return fmt.Errorf("client failed: %w", e.Err)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
