// Command dashboard is a live terminal view of a game, driven by one select
// loop over several typed SODP subscriptions, a redraw ticker and a context
// that ends on Ctrl-C (or SIGTERM) or when the demo's time is up.
//
// It watches game.score as a Scoreboard, game.player as a Player and
// game.events as an untyped value, prints every update with its kind and
// version, and redraws a one-line summary on every tick. With no server
// given it starts an embedded test server and simulates a match on it for
// -duration; with -url (or $SODP_URL) it only watches, so change the keys
// from another client to see them move.
//
//	go run ./examples/dashboard
//	go run ./examples/dashboard -duration 0 -url ws://localhost:7777
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

// The keys the dashboard watches.
const (
	scoreKey  = "game.score"
	playerKey = "game.player"
	eventsKey = "game.events"
)

// Scoreboard is the value of game.score.
type Scoreboard struct {
	Home   int `msgpack:"home"`
	Away   int `msgpack:"away"`
	Period int `msgpack:"period"`
}

func (s Scoreboard) String() string {
	return fmt.Sprintf("home %d : away %d (period %d)", s.Home, s.Away, s.Period)
}

// Player is the value of game.player.
type Player struct {
	Name   string   `msgpack:"name"`
	Health int      `msgpack:"health"`
	Pos    Position `msgpack:"pos"`
}

func (p Player) String() string {
	return fmt.Sprintf("%s hp %d at (%g,%g)", p.Name, p.Health, p.Pos.X, p.Pos.Y)
}

// Position is a point on the pitch.
type Position struct {
	X float64 `msgpack:"x"`
	Y float64 `msgpack:"y"`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options are the command-line settings.
type options struct {
	url      string
	token    string
	duration time.Duration
	refresh  time.Duration
	step     time.Duration
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("dashboard", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.url, "url", os.Getenv("SODP_URL"), "SODP server URL (default $SODP_URL, else an embedded test server with a simulated match)")
	fs.StringVar(&o.token, "token", os.Getenv("SODP_TOKEN"), "token for the server (default $SODP_TOKEN)")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "end the demo after this long (0: run until interrupted)")
	fs.DurationVar(&o.refresh, "refresh", time.Second, "redraw the summary this often")
	fs.DurationVar(&o.step, "step", 150*time.Millisecond, "simulated game activity every this long (embedded server only)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "dashboard: unexpected arguments %q\n", fs.Args())
		fs.Usage()
		return o, errors.New("unexpected arguments")
	}
	if o.refresh <= 0 || o.step <= 0 || o.duration < 0 {
		fmt.Fprintln(stderr, "dashboard: -refresh and -step must be positive, -duration not negative")
		return o, errors.New("bad flag value")
	}
	return o, nil
}

// run parses args, runs the dashboard until the demo ends or ctx is
// cancelled, and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	if err := dashboard(ctx, o, stdout); err != nil {
		fmt.Fprintln(stderr, "dashboard:", err)
		return 1
	}
	return 0
}

// dashboard connects, starts the simulation when it runs the embedded
// server, and runs the view until the demo ends.
func dashboard(ctx context.Context, o options, out io.Writer) error {
	demo := ctx
	if o.duration > 0 {
		var cancel context.CancelFunc
		demo, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}

	url := o.url
	if url == "" {
		srv := sodptest.NewServer()
		defer srv.Close()
		url = srv.URL
		fmt.Fprintf(out, "no server URL given: using an embedded test server at %s with a simulated match\n", url)
		stop := startMatch(demo, srv, o.step)
		defer stop()
	} else {
		fmt.Fprintf(out, "watching %s, %s and %s on %s\n", scoreKey, playerKey, eventsKey, url)
	}

	client, err := sodp.Dial(demo, url, sodp.WithToken(o.token))
	if err != nil {
		return err
	}
	defer client.Close()

	v, err := watchAll(demo, client)
	if err != nil {
		return err
	}
	defer v.close()
	if err := v.loop(demo, o.refresh, out); err != nil {
		return err
	}

	v.draw(out)
	switch {
	case ctx.Err() != nil:
		fmt.Fprintln(out, "interrupted: bye")
	default:
		fmt.Fprintf(out, "demo over after %s (%d updates)\n", o.duration, v.updates)
	}
	return nil
}

// view holds the subscriptions and the latest value of each key.
type view struct {
	score  *sodp.Subscription[Scoreboard]
	player *sodp.Subscription[Player]
	events *sodp.Subscription[any]

	start     time.Time
	updates   int
	lastScore Scoreboard
	lastPlay  Player
	lastEvent any
}

func watchAll(ctx context.Context, c *sodp.Client) (*view, error) {
	v := &view{start: time.Now()}
	var err error
	if v.score, err = sodp.Watch[Scoreboard](ctx, c, scoreKey); err != nil {
		return nil, fmt.Errorf("watch %s: %w", scoreKey, err)
	}
	if v.player, err = sodp.Watch[Player](ctx, c, playerKey); err != nil {
		v.close()
		return nil, fmt.Errorf("watch %s: %w", playerKey, err)
	}
	if v.events, err = sodp.Watch[any](ctx, c, eventsKey); err != nil {
		v.close()
		return nil, fmt.Errorf("watch %s: %w", eventsKey, err)
	}
	return v, nil
}

func (v *view) close() {
	if v.score != nil {
		v.score.Close()
	}
	if v.player != nil {
		v.player.Close()
	}
	if v.events != nil {
		v.events.Close()
	}
}

// loop is the dashboard: every subscription, the redraw ticker and the
// context in one select. It returns nil when ctx ends, and an error when a
// subscription ends for another reason.
func (v *view) loop(ctx context.Context, refresh time.Duration, out io.Writer) error {
	tick := time.NewTicker(refresh)
	defer tick.Stop()
	for {
		select {
		case u, ok := <-v.score.Updates():
			if !ok {
				return ended(ctx, scoreKey, v.score.Err())
			}
			if u.Err == nil {
				v.lastScore = u.Value
			}
			v.printUpdate(out, meta(u), u.Value, u.Err)
		case u, ok := <-v.player.Updates():
			if !ok {
				return ended(ctx, playerKey, v.player.Err())
			}
			if u.Err == nil {
				v.lastPlay = u.Value
			}
			v.printUpdate(out, meta(u), u.Value, u.Err)
		case u, ok := <-v.events.Updates():
			if !ok {
				return ended(ctx, eventsKey, v.events.Err())
			}
			v.lastEvent = latest(u.Value)
			v.printUpdate(out, meta(u), u.Value, u.Err)
		case <-tick.C:
			v.draw(out)
		case <-ctx.Done():
			return nil
		}
	}
}

// ended reports why a subscription's channel closed: nil when it is
// because ctx ended, which is the normal end of the dashboard.
func ended(ctx context.Context, key string, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("subscription to %s ended: %w", key, err)
}

// updateMeta is the part of an Update that does not depend on its type.
type updateMeta struct {
	key         string
	kind        sodp.Kind
	version     uint64
	initialized bool
	skipped     uint64
}

func meta[T any](u sodp.Update[T]) updateMeta {
	return updateMeta{key: u.Key, kind: u.Kind, version: u.Version, initialized: u.Initialized, skipped: u.Skipped}
}

func (v *view) printUpdate(out io.Writer, m updateMeta, value any, err error) {
	v.updates++
	line := fmt.Sprintf("%-11s %-8s v%-4d ", m.key, m.kind, m.version)
	switch {
	case err != nil:
		line += "unreadable value: " + err.Error()
	case !m.initialized:
		line += "(not set)"
	default:
		line += fmt.Sprint(value)
	}
	if m.skipped > 0 {
		line += fmt.Sprintf("  (+%d conflated)", m.skipped)
	}
	fmt.Fprintln(out, line)
}

// draw prints the one-line summary.
func (v *view) draw(out io.Writer) {
	elapsed := time.Since(v.start).Seconds()
	last := "-"
	if v.lastEvent != nil {
		last = fmt.Sprint(v.lastEvent)
	}
	fmt.Fprintf(out, "== [%4.1fs] %s | %s | last event: %s | %d updates\n",
		elapsed, v.lastScore, v.lastPlay, last, v.updates)
}

// latest returns the last element of a list value, or the value itself.
func latest(v any) any {
	if l, ok := v.([]any); ok {
		if len(l) == 0 {
			return nil
		}
		return l[len(l)-1]
	}
	return v
}

// match simulates game activity on the embedded server.
type match struct {
	srv    *sodptest.Server
	score  Scoreboard
	player Player
	events []any
}

func newMatch(srv *sodptest.Server) *match {
	return &match{
		srv:    srv,
		score:  Scoreboard{Period: 1},
		player: Player{Name: "alice", Health: 100},
		events: []any{"kick-off"},
	}
}

// startMatch writes the starting values and plays the match in a
// goroutine until ctx ends or the returned stop function is called; stop
// returns once the goroutine has exited.
func startMatch(ctx context.Context, srv *sodptest.Server, step time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	m := newMatch(srv)
	m.setup()
	var wg sync.WaitGroup
	wg.Go(func() { m.play(ctx, step) })
	return func() {
		cancel()
		wg.Wait()
	}
}

// setup writes the starting values, before anyone watches.
func (m *match) setup() {
	m.srv.Set(scoreKey, m.score)
	m.srv.Set(playerKey, m.player)
	m.srv.Set(eventsKey, m.events)
}

// play changes the game every step until ctx ends: the player runs every
// step, takes a knock every 5th, a goal falls every 7th, and the period
// changes every 20th.
func (m *match) play(ctx context.Context, step time.Duration) {
	tick := time.NewTicker(step)
	defer tick.Stop()
	for i := 1; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		pos := map[string]any{"x": float64(i % 10), "y": float64(i * 3 % 7)}
		if _, err := m.srv.SetIn(playerKey, "/pos", pos); err != nil {
			return
		}
		if i%5 == 0 {
			m.player.Health = max(m.player.Health-7, 0)
			m.srv.Patch(playerKey, map[string]any{"health": m.player.Health})
		}
		if i%7 == 0 {
			m.goal(i)
		}
		if i%20 == 0 {
			m.score.Period++
			m.srv.Patch(scoreKey, map[string]any{"period": m.score.Period})
			m.event(fmt.Sprintf("period %d", m.score.Period))
		}
	}
}

func (m *match) goal(i int) {
	team := "home"
	if i%2 == 0 {
		team = "away"
		m.score.Away++
		m.srv.Patch(scoreKey, map[string]any{"away": m.score.Away})
	} else {
		m.score.Home++
		m.srv.Patch(scoreKey, map[string]any{"home": m.score.Home})
	}
	m.event("goal " + team)
}

// event appends to game.events, which keeps the last three.
func (m *match) event(text string) {
	m.events = append(m.events, text)
	if len(m.events) > 3 {
		m.events = m.events[len(m.events)-3:]
	}
	m.srv.Set(eventsKey, m.events)
}
