package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/shamaton/msgpack/v2"

	"github.com/sodp-go/client/internal/firehose"
	"github.com/sodp-go/client/internal/wire"
	"github.com/sodp-go/client/sodp"
)

// shape is a value and the field its DELTAs update: path, or, when paths
// is set, paths[version % len(paths)].
type shape struct {
	name    string
	initial map[string]any
	path    string
	paths   []string
	fanOut  bool // also measured with -clients clients
	room    bool // watched as the room types (see room.go)
}

var shapes = []*shape{
	{name: "flat10", initial: firehose.FlatValue(0), path: "/f3", fanOut: true},
	{name: "nested100", initial: firehose.NestedValue(), path: "/g7/f3", fanOut: true},
	{name: "wide10k", initial: firehose.WideValue(), paths: firehose.WidePaths()},
	roomShape("room1k", 1000, true),
	roomShape("room10k", 10000, false),
}

// counter is what one reader has seen; padded to a cache line of its own.
// In the closed loop the server reads n as the reader's acknowledged
// consumption, and the reader pokes kick every kickEvery updates so that a
// server waiting for room wakes up.
type counter struct {
	n    atomic.Uint64 // updates (or frames) received
	v    atomic.Uint64 // last version received
	errs atomic.Uint64 // updates that carried an error
	gaps atomic.Uint64 // closed loop: updates whose version was not the previous one + 1
	kick chan struct{} // closed loop: capacity 1
	_    [32]byte
}

// kickEvery is how often (in updates) a closed-loop reader wakes the
// server; the window must be well above it.
const kickEvery = 256

func newCounter(closed bool) *counter {
	c := new(counter)
	if closed {
		c.kick = make(chan struct{}, 1)
	}
	return c
}

// ack counts one update taken by the reader.
func (c *counter) ack() {
	n := c.n.Add(1)
	if c.kick != nil && n%kickEvery == 0 {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
}

// startFirehose starts a firehose streaming sh, its goroutines labelled
// as the server's in profiles. With window > 0 it runs a closed loop: each
// connection stays at most window frames ahead of the consumption of the
// reader registered (with register) for its key.
func startFirehose(ctx context.Context, sh *shape, batch, window int) (f *firehose.Server, err error) {
	pprof.Do(ctx, pprof.Labels("role", "server"), func(context.Context) {
		f, err = firehose.Start(firehose.Shape{Initial: sh.initial, Path: sh.path, Paths: sh.paths}, firehose.Options{Batch: batch, Window: window})
	})
	return f, err
}

// register makes cnt the consumption of whoever watches key on f.
func register(f *firehose.Server, key string, cnt *counter) {
	f.Reader(key, firehose.Acks{N: &cnt.n, Kick: cnt.kick})
}

// watchFrame encodes a WATCH of key on stream 10.
func watchFrame(key string) []byte {
	b, err := wire.Encode(nil, wire.Frame{Type: wire.TypeWatch, Stream: wire.FirstSubscriptionStream, Seq: 1, Body: &wire.Watch{State: key}})
	if err != nil {
		panic(err)
	}
	return b
}

// readerMode is what a bare reader does with each message.
type readerMode int

const (
	modeBaseline readerMode = iota // msgpack.Unmarshal into an any
	modeSource                     // nothing: how fast the server sends
)

// bareDial dials url with a default gorilla/websocket dialer, waits for
// HELLO and sends a WATCH of key.
func bareDial(ctx context.Context, url, key string) (*websocket.Conn, error) {
	ws, resp, err := websocket.DefaultDialer.DialContext(ctx, url, nil)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		return nil, err
	}
	if _, _, err := ws.ReadMessage(); err != nil {
		ws.Close()
		return nil, err
	}
	if err := ws.WriteMessage(websocket.BinaryMessage, watchFrame(key)); err != nil {
		ws.Close()
		return nil, err
	}
	return ws, nil
}

// readLoop reads messages until the connection ends, counting them in
// cnt. The baseline mode decodes each with msgpack.Unmarshal into an any
// and keeps nothing; the source mode does not decode.
func readLoop(ws *websocket.Conn, mode readerMode, cnt *counter) {
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		if mode == modeBaseline {
			var v any
			if err := msgpack.Unmarshal(data, &v); err != nil {
				cnt.errs.Add(1)
			}
		}
		cnt.ack()
	}
}

// rates is what measure found over the measurement window.
type rates struct {
	delivered float64 // messages (updates) per second
	covered   float64 // versions covered per second (delivered, for counters without versions)
	cpu       float64 // CPU time of the whole process per message, in nanoseconds (NaN where unknown)
}

// measure waits until every counter has seen its first message, lets the
// stream warm up, and returns the rates over the measurement window. The
// CPU time per message counts the whole process (server and readers
// alone run in it during the window): unlike the rates, it is barely
// affected by other work on the machine.
func measure(ctx context.Context, cnts []*counter, warmup, dur time.Duration, versions bool) (r rates, err error) {
	deadline := time.Now().Add(60 * time.Second)
	for _, c := range cnts {
		for c.n.Load() == 0 {
			if time.Now().After(deadline) {
				return r, errors.New("no first update within 60s")
			}
			if err := sleepCtx(ctx, time.Millisecond); err != nil {
				return r, err
			}
		}
	}
	if err := sleepCtx(ctx, warmup); err != nil {
		return r, err
	}
	n0, v0 := make([]uint64, len(cnts)), make([]uint64, len(cnts))
	cpu0 := processCPU()
	t0 := time.Now()
	for i, c := range cnts {
		n0[i], v0[i] = c.n.Load(), c.v.Load()
	}
	if err := sleepCtx(ctx, dur); err != nil {
		return r, err
	}
	var dn, dv uint64
	t1 := time.Now()
	for i, c := range cnts {
		dn += c.n.Load() - n0[i]
		dv += c.v.Load() - v0[i]
	}
	cpu1 := processCPU()
	secs := t1.Sub(t0).Seconds()
	r.delivered = float64(dn) / secs
	r.covered = r.delivered
	if versions {
		r.covered = float64(dv) / secs
	}
	r.cpu = math.NaN()
	if dn > 0 && cpu0 >= 0 && cpu1 >= 0 {
		r.cpu = float64(cpu1-cpu0) / float64(dn)
	}
	return r, nil
}

// runBare measures n bare readers of a fresh firehose (closed loop when
// window > 0).
func runBare(ctx context.Context, cfg *config, sh *shape, n, window int, mode readerMode) (rates, error) {
	f, err := startFirehose(ctx, sh, cfg.batch, window)
	if err != nil {
		return rates{}, err
	}
	defer f.Close()
	role := "baseline"
	if mode == modeSource {
		role = "source"
	}
	cnts := make([]*counter, n)
	for i := range cnts {
		cnts[i] = newCounter(window > 0)
		register(f, fireKey(i), cnts[i])
	}
	conns := make([]*websocket.Conn, n)
	var wg sync.WaitGroup
	defer func() {
		for _, ws := range conns {
			if ws != nil {
				ws.Close()
			}
		}
		wg.Wait()
	}()
	err = parallel(n, func(i int) error {
		ws, err := bareDial(ctx, f.URL, fireKey(i))
		if err != nil {
			return err
		}
		conns[i] = ws
		return nil
	})
	if err != nil {
		return rates{}, err
	}
	pprof.Do(ctx, pprof.Labels("role", role), func(context.Context) {
		for i, ws := range conns {
			c := cnts[i]
			wg.Go(func() { readLoop(ws, mode, c) })
		}
	})
	f.Release()
	r, err := measure(ctx, cnts, cfg.warmup, cfg.duration, false)
	f.Halt()
	return r, err
}

func fireKey(i int) string { return fmt.Sprintf("fire.k%d", i) }

// result is what a run of SDK clients measured.
type result struct {
	rates
	errs, gaps uint64
}

// runClients measures n SDK clients, each watching its own key of a fresh
// firehose with a subscription of type T, the subscriber reading every
// update it is given. With window > 0 the stream is a closed loop and the
// subscription buffers window updates (WithBuffer), so that it never
// overflows and every update is delivered; else it conflates.
func runClients[T any](ctx context.Context, cfg *config, sh *shape, n, window int, use func(T) int64) (res result, err error) {
	return runWatch(ctx, cfg, sh, n, window, use, sodp.Watch[T])
}

// runWatch is runClients with the subscription made by watch.
func runWatch[T any](ctx context.Context, cfg *config, sh *shape, n, window int, use func(T) int64,
	watch func(context.Context, *sodp.Client, string, ...sodp.WatchOption) (*sodp.Subscription[T], error)) (res result, err error) {
	f, err := startFirehose(ctx, sh, cfg.batch, window)
	if err != nil {
		return res, err
	}
	defer f.Close()
	cnts := make([]*counter, n)
	for i := range cnts {
		cnts[i] = newCounter(window > 0)
		register(f, fireKey(i), cnts[i])
	}
	var opts []sodp.WatchOption
	if window > 0 {
		opts = append(opts, sodp.WithBuffer(window))
	}
	clients := make([]*sodp.Client, n)
	var wg sync.WaitGroup
	defer func() {
		closeAll(clients)
		wg.Wait()
	}()
	pprof.Do(ctx, pprof.Labels("role", "client"), func(ctx context.Context) {
		err = parallel(n, func(i int) error {
			c, err := sodp.Dial(ctx, f.URL)
			if err != nil {
				return err
			}
			clients[i] = c
			sub, err := watch(ctx, c, fireKey(i), opts...)
			if err != nil {
				return err
			}
			cnt := cnts[i]
			wg.Go(func() { consume(sub, cnt, use) })
			return nil
		})
	})
	if err != nil {
		return res, err
	}
	f.Release()
	res.rates, err = measure(ctx, cnts, cfg.warmup, cfg.duration, true)
	f.Halt()
	for _, c := range cnts {
		res.errs += c.errs.Load()
		res.gaps += c.gaps.Load()
	}
	return res, err
}

// closeAll closes clients all at once: closed one after the other, each
// would wait for CPU time behind the backlog the others still decode.
func closeAll(clients []*sodp.Client) {
	var wg sync.WaitGroup
	for _, c := range clients {
		if c != nil {
			wg.Go(func() { c.Close() })
		}
	}
	wg.Wait()
}

// consume reads every update of sub, as an application would, until the
// channel closes. A version that does not follow the previous one counts
// as a gap (a closed loop must have none).
func consume[T any](sub *sodp.Subscription[T], cnt *counter, use func(T) int64) {
	var sink int64
	var prev uint64
	for u := range sub.Updates() {
		if u.Err != nil {
			cnt.errs.Add(1)
		} else {
			sink += use(u.Value)
		}
		if prev != 0 && (u.Version != prev+1 || u.Skipped != 0) {
			cnt.gaps.Add(1)
		}
		prev = u.Version
		cnt.v.Store(u.Version)
		cnt.ack()
	}
	consumed.Add(sink)
}

// consumed keeps what subscribers read alive.
var consumed atomic.Int64

func useFlat(v firehose.Flat10) int64      { return v.F3 }
func useNested(v firehose.Nested100) int64 { return v.G7.F3 }

// useWide reads one entry of a typed wide value.
func useWide(v map[string]firehose.WideEntry) int64 { return v["e00000"].N + int64(len(v)) }

// useAny reads the updated field of an untyped value.
func useAny(path ...string) func(any) int64 {
	return func(v any) int64 {
		cur := v
		for _, p := range path {
			m, _ := cur.(map[string]any)
			cur = m[p]
		}
		n, _ := cur.(int64)
		return n
	}
}

// firehoseScenario runs the firehose cases, in the closed loop (every
// update delivered) or open (conflation), and records their rows.
type firehoseScenario struct {
	cfg    *config
	t      *table
	closed bool
	errs   map[string]uint64
	gaps   map[string]uint64
}

func newFirehoseScenario(cfg *config, t *table, closed bool) *firehoseScenario {
	return &firehoseScenario{cfg: cfg, t: t, closed: closed, errs: map[string]uint64{}, gaps: map[string]uint64{}}
}

func (s *firehoseScenario) notes() []string {
	var out []string
	for name, n := range s.errs {
		out = append(out, fmt.Sprintf("warning: %s: %d updates carried an error", name, n))
	}
	for name, n := range s.gaps {
		out = append(out, fmt.Sprintf("warning: %s: %d updates did not follow the previous version (closed loop: every update should be delivered)", name, n))
	}
	return out
}

// fhTarget returns the performance target for a closed-loop firehose case.
func fhTarget(shape string, clients int, typ string) *target {
	switch {
	case shape == "flat10" && clients == 1 && typ == "typed":
		return atLeastTimes(0.85)
	case shape == "flat10" && clients == 1 && typ == "any":
		return atLeastTimes(0.9)
	case shape == "flat10" && typ == "typed":
		return atLeastTimes(0.75)
	case shape == "nested100" && clients == 1 && typ == "typed":
		return atLeastTimes(0.6)
	case shape == "nested100" && clients == 1 && typ == "any":
		return atLeastTimes(0.85)
	case shape == "nested100" && typ == "typed":
		return atLeastTimes(0.5)
	}
	return nil
}

// runTyped runs the clients of one case with the subscriber type typ.
func (s *firehoseScenario) runTyped(ctx context.Context, sh *shape, n, window int, typ string) (result, error) {
	cfg := s.cfg
	switch {
	case sh.room:
		return runRoom(ctx, cfg, sh, n, window, typ)
	case typ == "typed" && sh.name == "flat10":
		return runClients(ctx, cfg, sh, n, window, useFlat)
	case typ == "typed" && sh.name == "nested100":
		return runClients(ctx, cfg, sh, n, window, useNested)
	case typ == "typed":
		return runClients(ctx, cfg, sh, n, window, useWide)
	case sh.name == "flat10":
		return runClients(ctx, cfg, sh, n, window, useAny("f3"))
	case sh.name == "nested100":
		return runClients(ctx, cfg, sh, n, window, useAny("g7", "f3"))
	default:
		return runClients(ctx, cfg, sh, n, window, useAny("e00000", "n"))
	}
}

func (s *firehoseScenario) rep(ctx context.Context, rep int) error {
	cfg := s.cfg
	scen, window := "conflation", 0
	if s.closed {
		scen, window = "firehose", cfg.window
	}
	for _, sh := range shapes {
		if !s.closed && sh.paths != nil {
			continue // the wide shape runs in the closed loop only
		}
		fans := []int{1}
		if cfg.clients > 1 && sh.fanOut {
			fans = append(fans, cfg.clients)
		}
		types := []string{"typed", "any"}
		if sh.room {
			types = roomTypes
		}
		for _, n := range fans {
			id := fmt.Sprintf("%s/%s/%dc", scen, sh.name, n)
			label := fmt.Sprintf("%s %s %dc", scen, sh.name, n)
			var run []string
			for _, typ := range types {
				if cfg.want(id + "/" + typ) {
					run = append(run, typ)
				}
			}
			source := n == 1 && cfg.want(id+"/source")
			if len(run) == 0 && !source && !cfg.want(id+"/baseline") {
				continue
			}
			base := s.t.row(label+" baseline", "updates/s", fmtRate)
			cfg.logf("rep %d/%d: %s/baseline", rep, cfg.reps, id)
			r, err := runBare(ctx, cfg, sh, n, window, modeBaseline)
			if err != nil {
				return fmt.Errorf("%s/baseline: %w", id, err)
			}
			base.add(r.delivered)
			var baseCPU *row
			if s.closed {
				baseCPU = s.t.row(label+" baseline", "CPU/update", fmtNanos)
				baseCPU.add(r.cpu)
			}

			for _, typ := range run {
				cfg.logf("rep %d/%d: %s/%s", rep, cfg.reps, id, typ)
				res, err := s.runTyped(ctx, sh, n, window, typ)
				if err != nil {
					return fmt.Errorf("%s/%s: %w", id, typ, err)
				}
				if res.errs > 0 {
					s.errs[id+"/"+typ] += res.errs
				}
				if s.closed && res.gaps > 0 {
					s.gaps[id+"/"+typ] += res.gaps
				}
				if s.closed {
					del := s.t.row(label+" "+typ, "updates/s", fmtRate)
					del.base, del.target = base, fhTarget(sh.name, n, typ)
					del.add(res.delivered)
					cpu := s.t.row(label+" "+typ, "CPU/update", fmtNanos)
					cpu.base = baseCPU
					cpu.add(res.cpu)
					if n == 1 && (sh.name == "flat10" || sh.name == "wide10k" || sh.room) {
						// Cost per update, the wide shapes against flat10
						// (typed against typed).
						cost := s.t.row(label+" "+typ, "cost/update", fmtNanos)
						if sh.name != "flat10" {
							flatTyp := "typed"
							if typ == "any" {
								flatTyp = "any"
							}
							cost.base = s.t.row(fmt.Sprintf("%s flat10 1c %s", scen, flatTyp), "cost/update", fmtNanos)
						}
						if res.delivered > 0 {
							cost.add(1e9 / res.delivered)
						}
						// CPU per update against flat10's, which moves
						// less with the machine's load than the rate.
						if sh.name != "flat10" {
							rel := s.t.row(label+" "+typ, "CPU vs flat10", fmtNanos)
							rel.base = s.t.row(fmt.Sprintf("%s flat10 1c %s", scen, map[bool]string{true: "any", false: "typed"}[typ == "any"]), "CPU/update", fmtNanos)
							if sh.room {
								rel.target = roomTarget(sh, n, typ)
							}
							rel.add(res.cpu)
						}
					}
					continue
				}
				cov := s.t.row(label+" "+typ, "covered/s", fmtRate)
				cov.base = base
				cov.add(res.covered)
				del := s.t.row(label+" "+typ, "delivered/s", fmtRate)
				del.base = base
				del.add(res.delivered)
			}

			if source {
				cfg.logf("rep %d/%d: %s/source", rep, cfg.reps, id)
				r, err := runBare(ctx, cfg, sh, n, window, modeSource)
				if err != nil {
					return fmt.Errorf("%s/source: %w", id, err)
				}
				src := s.t.row(label+" source (read, no decode)", "updates/s", fmtRate)
				src.base = base
				src.add(r.delivered)
			}
		}
	}
	return nil
}
