package main

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sodp-go/client/internal/firehose"
	"github.com/sodp-go/client/internal/wire"
	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
	"golang.org/x/sync/errgroup"
)

// waitFor polls cond until it holds, ctx ends or 60 s pass.
func waitFor(ctx context.Context, what string, cond func() bool) error {
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out waiting for %s", what)
		}
		if err := sleepCtx(ctx, 2*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}

// parallel runs f(0..n-1), at most eight at a time, and returns the
// first error.
func parallel(n int, f func(i int) error) error {
	var g errgroup.Group
	g.SetLimit(8)
	for i := range n {
		g.Go(func() error { return f(i) })
	}
	return g.Wait()
}

// scaleScenario runs the scale cases and records their rows.
type scaleScenario struct {
	cfg     *config
	t       *table
	dialect sodp.Dialect
	warn    []string
	// resumeQueue is the outbound queue of the resume client; 0 is the
	// SDK's default.
	resumeQueue int
	// watchQueue is the outbound queue of the Watch-calls client.
	watchQueue int
	ran        bool
	baseRSS    float64 // the process's RSS just before the idle clients
}

func newScaleScenario(cfg *config, t *table) *scaleScenario {
	return &scaleScenario{cfg: cfg, t: t, dialect: sodp.DialectTS}
}

func (s *scaleScenario) notes() []string {
	if !s.ran {
		return nil
	}
	return append([]string{fmt.Sprintf("scale: sodptest in the %s dialect (its outbound queue is unbounded; the spec dialect evicts a connection with 1,024 frames queued)", s.dialect)}, s.warn...)
}

func (s *scaleScenario) server(keys []string) *sodptest.Server {
	srv := sodptest.NewServer(sodptest.WithMaxRecorded(1), sodptest.WithDialect(s.dialect))
	for i, k := range keys {
		srv.Set(k, firehose.FlatValue(i))
	}
	return srv
}

func keyList(prefix string, n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%s.k%d", prefix, i)
	}
	return keys
}

func (s *scaleScenario) addMem(label, unit string, m mem, format func(float64) string, rssTarget, goroutineTarget *target) {
	r := s.t.row(label, "RSS/"+unit, format)
	r.target = rssTarget
	r.add(m.rss)
	s.t.row(label, "heap+stack/"+unit, format).add(m.heap)
	g := s.t.row(label, "goroutines/"+unit, fmtCount)
	g.target = goroutineTarget
	g.add(m.goroutines)
}

func (s *scaleScenario) rep(ctx context.Context, rep int) error {
	cfg := s.cfg
	s.ran = true
	k, m := cfg.idleClients, cfg.keys
	if cfg.want("scale/idle") {
		cfg.logf("rep %d/%d: scale/idle (server alone, %d raw connections)", rep, cfg.reps, k)
		srvConn, err := s.serverPerConn(ctx, k)
		if err != nil {
			return fmt.Errorf("scale/idle: server alone: %w", err)
		}
		cfg.logf("rep %d/%d: scale/idle (%d clients)", rep, cfg.reps, k)
		total, err := s.idleClients(ctx, k)
		if err != nil {
			return fmt.Errorf("scale/idle: %w", err)
		}
		base := s.t.row("scale process before the clients (Go runtime, bench, server)", "RSS", fmtMiB)
		base.add(s.baseRSS)
		s.addMem(fmt.Sprintf("scale server alone, per raw connection (%d, 1 key each)", k), "conn", srvConn, fmtKiB, nil, nil)
		s.addMem(fmt.Sprintf("scale idle client + 1 sub (%d), incl. server side", k), "client", total, fmtKiB, nil, nil)
		s.addMem(fmt.Sprintf("scale idle client + 1 sub (%d), client only", k), "client", total.sub(srvConn), fmtKiB, atMost(30*1024, "30KiB"), atMost(3, "3"))
	}
	many, each, resume := cfg.want("scale/watchmany"), cfg.want("scale/watch"), cfg.want("scale/resume")
	if !many && !each && !resume {
		return nil
	}
	cfg.logf("rep %d/%d: scale (server alone, 1 raw connection watching %d keys)", rep, cfg.reps, m)
	srvSub, err := s.serverPerSub(ctx, m)
	if err != nil {
		return fmt.Errorf("scale: server alone: %w", err)
	}
	s.addMem(fmt.Sprintf("scale server alone, per subscription (%d keys, 1 WATCH)", m), "sub", srvSub, fmtBytes, nil, nil)
	if many || resume {
		cfg.logf("rep %d/%d: scale/watchmany and scale/resume (%d keys)", rep, cfg.reps, m)
		perSub, took, alloc, err := s.watchManyAndResume(ctx, m, s.resumeQueue)
		if errors.Is(err, errReconnectLoop) && s.resumeQueue == 0 {
			// Measure with a queue that holds one frame per key, and say
			// why.
			s.resumeQueue = m + 1024
			s.warn = append(s.warn, fmt.Sprintf("warning: scale/resume with the default outbound queue did not recover: %v; resume figures are measured with WithOutboundQueue(%d)", err, s.resumeQueue))
			cfg.logf("rep %d/%d: scale/watchmany and scale/resume again, with WithOutboundQueue(%d)", rep, cfg.reps, s.resumeQueue)
			perSub, took, alloc, err = s.watchManyAndResume(ctx, m, s.resumeQueue)
		}
		if err != nil {
			return fmt.Errorf("scale/watchmany: %w", err)
		}
		if many {
			s.addMem(fmt.Sprintf("scale extra sub via WatchMany (%d keys), client only", m), "sub", perSub.sub(srvSub), fmtBytes, atMost(1024, "1KiB"), nil)
		}
		if resume {
			label := fmt.Sprintf("scale resume %d keys after DropConnections", m)
			s.t.row(label, "time", fmtMillis).add(took.Seconds() * 1e3)
			s.t.row(label, "allocated (client+server)", fmtMiB).add(float64(alloc))
		}
	}
	if each {
		cfg.logf("rep %d/%d: scale/watch (%d Watch calls)", rep, cfg.reps, m)
		perSub, again, err := s.watchEach(ctx, m, s.watchQueue)
		if errors.Is(err, errReconnectLoop) && s.watchQueue == 0 {
			s.watchQueue = m + 1024
			s.warn = append(s.warn, fmt.Sprintf("warning: scale/watch with the default outbound queue failed: %v; figures are measured with WithOutboundQueue(%d)", err, s.watchQueue))
			cfg.logf("rep %d/%d: scale/watch again, with WithOutboundQueue(%d)", rep, cfg.reps, s.watchQueue)
			perSub, again, err = s.watchEach(ctx, m, s.watchQueue)
		}
		if err != nil {
			return fmt.Errorf("scale/watch: %w", err)
		}
		s.addMem(fmt.Sprintf("scale extra sub via %d Watch calls, client only", m), "sub", perSub.sub(srvSub), fmtBytes, atMost(1024, "1KiB"), nil)
		s.addMem(fmt.Sprintf("scale extra sub via %d more Watch calls of the same keys", m), "sub", again, fmtBytes, nil, nil)
	}
	return nil
}

// serverPerConn measures the server's own cost of a connection with one
// subscription: k hand-made connections that each send one WATCH.
func (s *scaleScenario) serverPerConn(ctx context.Context, k int) (mem, error) {
	keys := keyList("idle", k)
	srv := s.server(keys)
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "ws://")
	conns := make([]*rawConn, k)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.nc.Close()
			}
		}
	}()
	m0 := sampleMem()
	err := parallel(k, func(i int) error {
		c, err := rawDial(addr)
		if err != nil {
			return err
		}
		c.br = nil // nothing is read back
		conns[i] = c
		return c.send(watchFrame(keys[i]))
	})
	if err != nil {
		return mem{}, err
	}
	if err := waitFor(ctx, "the server's subscriptions", func() bool { return srv.Stats().Subscriptions >= k }); err != nil {
		return mem{}, err
	}
	if err := settle(ctx); err != nil {
		return mem{}, err
	}
	return sampleMem().sub(m0).div(k), nil
}

// idleClients measures k SDK clients with one subscription each, idle
// after their snapshot, together with the server's side of them.
func (s *scaleScenario) idleClients(ctx context.Context, k int) (mem, error) {
	keys := keyList("idle", k)
	srv := s.server(keys)
	defer srv.Close()
	clients := make([]*sodp.Client, k)
	defer closeAll(clients)
	m0 := sampleMem()
	s.baseRSS = m0.rss
	var err error
	pprof.Do(ctx, pprof.Labels("role", "client"), func(ctx context.Context) {
		err = parallel(k, func(i int) error {
			c, err := sodp.Dial(ctx, srv.URL)
			if err != nil {
				return err
			}
			clients[i] = c
			sub, err := sodp.Watch[firehose.Flat10](ctx, c, keys[i])
			if err != nil {
				return err
			}
			return first(sub)
		})
	})
	if err != nil {
		return mem{}, err
	}
	if err := settle(ctx); err != nil {
		return mem{}, err
	}
	return sampleMem().sub(m0).div(k), nil
}

// first waits for a subscription's first update.
func first[T any](sub *sodp.Subscription[T]) error {
	select {
	case _, ok := <-sub.Updates():
		if !ok {
			return sub.Err()
		}
		return nil
	case <-time.After(30 * time.Second):
		return errors.New("no first update within 30s")
	}
}

// serverPerSub measures the server's own cost of m subscriptions on one
// hand-made connection that sends one multi-key WATCH and reads what comes.
func (s *scaleScenario) serverPerSub(ctx context.Context, m int) (mem, error) {
	keys := keyList("many", m)
	srv := s.server(keys)
	defer srv.Close()
	c, err := rawDial(strings.TrimPrefix(srv.URL, "ws://"))
	if err != nil {
		return mem{}, err
	}
	var frames atomic.Int64
	var wg sync.WaitGroup
	defer func() {
		c.nc.Close()
		wg.Wait()
	}()
	wg.Go(func() { c.countFrames(&frames) })
	if err := waitFor(ctx, "HELLO", func() bool { return frames.Load() >= 1 }); err != nil {
		return mem{}, err
	}
	watch, err := wire.Encode(nil, wire.Frame{Type: wire.TypeWatch, Stream: wire.FirstSubscriptionStream, Seq: 1, Body: &wire.Watch{States: keys}})
	if err != nil {
		return mem{}, err
	}
	m0 := sampleMem()
	if err := c.send(watch); err != nil {
		return mem{}, err
	}
	err = waitFor(ctx, "the server's STATE_INITs", func() bool {
		return frames.Load() >= int64(m)+1 && srv.Stats().Subscriptions >= m
	})
	if err != nil {
		return mem{}, err
	}
	if err := settle(ctx); err != nil {
		return mem{}, err
	}
	return sampleMem().sub(m0).div(m), nil
}

// watchManyAndResume measures one client watching m keys with one
// WatchMany, then stalls its connection, writes every key once, drops the
// connection and times how long the client takes to have the new version
// of every key on its channel (reconnect, m RESUMEs, replay).
//
// queue, when positive, sets the client's outbound queue (WithOutboundQueue).
// A client that keeps losing the connection during the resume fails with
// errReconnectLoop.
func (s *scaleScenario) watchManyAndResume(ctx context.Context, m, queue int) (perSub mem, took time.Duration, alloc uint64, err error) {
	keys := keyList("many", m)
	srv := s.server(keys)
	defer srv.Close()
	var c *sodp.Client
	var sub *sodp.Subscription[firehose.Flat10]
	opts := []sodp.Option{sodp.WithBackoff(time.Millisecond, 100*time.Millisecond)}
	if queue > 0 {
		opts = append(opts, sodp.WithOutboundQueue(queue))
	}
	pprof.Do(ctx, pprof.Labels("role", "client"), func(ctx context.Context) {
		c, err = sodp.Dial(ctx, srv.URL, opts...)
	})
	if err != nil {
		return perSub, 0, 0, err
	}
	defer c.Close()
	if err := settle(ctx); err != nil {
		return perSub, 0, 0, err
	}
	m0 := sampleMem()
	pprof.Do(ctx, pprof.Labels("role", "client"), func(ctx context.Context) {
		sub, err = sodp.WatchMany[firehose.Flat10](ctx, c, keys)
	})
	if err != nil {
		return perSub, 0, 0, err
	}
	got := make(map[string]uint64, m)
	var want map[string]uint64
	done := 0
	var lost0, resumes0 uint64
	check := time.NewTicker(100 * time.Millisecond)
	defer check.Stop()
	read := func(stop func() bool) error {
		timeout := time.After(60 * time.Second)
		for !stop() {
			select {
			case <-check.C:
				if st := c.Stats(); st.Disconnects >= lost0+3 {
					return fmt.Errorf("%w %d times, %d RESUME frames sent for %d keys, client state %s",
						errReconnectLoop, st.Disconnects-lost0+1, st.Resumes-resumes0, m, c.State())
				}
			case u, ok := <-sub.Updates():
				if !ok {
					return sub.Err()
				}
				if u.Err != nil {
					return u.Err
				}
				old := got[u.Key]
				got[u.Key] = max(old, u.Version)
				if w, ok := want[u.Key]; ok && old < w && u.Version >= w {
					done++
				}
			case <-timeout:
				return errors.New("timed out reading updates")
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}
	if err := read(func() bool { return len(got) == m }); err != nil {
		return perSub, 0, 0, err
	}
	if err := settle(ctx); err != nil {
		return perSub, 0, 0, err
	}
	perSub = sampleMem().sub(m0).div(m)

	// Stall the connection so the client misses the writes, then drop it.
	for _, conn := range srv.Conns() {
		conn.Pause()
	}
	want = make(map[string]uint64, m)
	for i, k := range keys {
		v := firehose.FlatValue(i)
		v["f3"] = int64(1)
		want[k] = srv.Set(k, v)
		if got[k] >= want[k] {
			done++
		}
	}
	before := c.Stats()
	lost0 = before.Disconnects + 1 // the drop itself
	resumes0 = before.Resumes
	runtime.GC()
	a0 := allocated()
	t0 := time.Now()
	srv.DropConnections()
	err = read(func() bool { return done == m })
	took = time.Since(t0)
	alloc = allocated() - a0
	if err != nil {
		return perSub, 0, 0, err
	}
	after := c.Stats()
	if r := after.Resumes - before.Resumes; r != uint64(m) {
		s.warn = append(s.warn, fmt.Sprintf("warning: scale/resume: %d RESUME frames sent for %d keys", r, m))
	}
	return perSub, took, alloc, nil
}

// errReconnectLoop: the client lost its connection where it should not have.
var errReconnectLoop = errors.New("the client lost its connection")

// watchEach measures one client watching m keys with m Watch calls, then
// m more Watch calls of the same keys (again: the subscriptions alone, as
// each key and its value are already held and nothing is sent). queue,
// when positive, sets the client's outbound queue. A client that loses its
// connection meanwhile fails with errReconnectLoop.
func (s *scaleScenario) watchEach(ctx context.Context, m, queue int) (perSub, again mem, err error) {
	keys := keyList("many", m)
	srv := s.server(keys)
	defer srv.Close()
	var c *sodp.Client
	var opts []sodp.Option
	if queue > 0 {
		opts = append(opts, sodp.WithOutboundQueue(queue))
	}
	pprof.Do(ctx, pprof.Labels("role", "client"), func(ctx context.Context) {
		c, err = sodp.Dial(ctx, srv.URL, opts...)
	})
	if err != nil {
		return mem{}, mem{}, err
	}
	defer c.Close()
	if err := settle(ctx); err != nil {
		return mem{}, mem{}, err
	}
	check := time.NewTicker(100 * time.Millisecond)
	defer check.Stop()
	// watchAll makes m subscriptions, one per key, and waits for the first
	// update of each.
	watchAll := func() ([]*sodp.Subscription[firehose.Flat10], error) {
		subs := make([]*sodp.Subscription[firehose.Flat10], m)
		var err error
		pprof.Do(ctx, pprof.Labels("role", "client"), func(ctx context.Context) {
			for i, k := range keys {
				if subs[i], err = sodp.Watch[firehose.Flat10](ctx, c, k); err != nil {
					return
				}
			}
		})
		if err != nil {
			return nil, err
		}
		timeout := time.After(60 * time.Second)
		for _, sub := range subs {
		wait:
			for {
				select {
				case _, ok := <-sub.Updates():
					if !ok {
						return nil, sub.Err()
					}
					break wait
				case <-check.C:
					if st := c.Stats(); st.Disconnects > 0 {
						return nil, fmt.Errorf("%w %d times, %d frames sent for %d keys, client state %s",
							errReconnectLoop, st.Disconnects, st.FramesOut, m, c.State())
					}
				case <-timeout:
					return nil, errors.New("timed out waiting for the first updates")
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
		}
		if err := settle(ctx); err != nil {
			return nil, err
		}
		if st := c.Stats(); st.Disconnects > 0 {
			return nil, fmt.Errorf("%w %d times", errReconnectLoop, st.Disconnects)
		}
		return subs, nil
	}
	m0 := sampleMem()
	first, err := watchAll()
	if err != nil {
		return mem{}, mem{}, err
	}
	m1 := sampleMem()
	second, err := watchAll()
	if err != nil {
		return mem{}, mem{}, err
	}
	m2 := sampleMem()
	// Both sets are in use until the readings are taken.
	for _, sub := range append(first, second...) {
		sub.Close()
	}
	return m1.sub(m0).div(m), m2.sub(m1).div(m), nil
}
