package main

import (
	"context"
	"errors"
	"fmt"
	"runtime/pprof"
	"sort"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/shamaton/msgpack/v2"

	"github.com/sodp-go/client/internal/wire"
	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

// Stamp is the value of a latency key: when the writer made it, and its
// sequence number.
type Stamp struct {
	TS  int64 `msgpack:"ts"`
	Seq int64 `msgpack:"seq"`
}

// latRecorder collects the latencies seen by one reader, for values written
// inside the measurement window. Only its reader goroutine writes it.
type latRecorder struct {
	from, to int64 // window, unix nanoseconds
	samples  []float64
	errs     int
}

func (r *latRecorder) observe(ts, now int64) {
	if ts >= r.from && ts < r.to {
		r.samples = append(r.samples, float64(now-ts)/1e3)
	}
}

// runLatency writes n keys of a fresh sodptest server at perKey updates per
// second each, for warm-up plus duration, and returns the p50 and p99
// latency in microseconds of the values written inside the window, as seen
// by n SDK clients (one key each) or, for the baseline, by n bare loops.
func runLatency(ctx context.Context, cfg *config, n, perKey int, client bool) (p50, p99 float64, errs int, err error) {
	srv := sodptest.NewServer(sodptest.WithMaxRecorded(1))
	defer srv.Close()
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("lat.k%d", i)
		srv.Set(keys[i], Stamp{})
	}
	recs := make([]*latRecorder, n)
	loops := make([]func(), n)
	var closers []func()
	var wg sync.WaitGroup
	defer func() {
		for _, c := range closers {
			c()
		}
		wg.Wait()
	}()
	role := "baseline"
	if client {
		role = "client"
	}
	pprof.Do(ctx, pprof.Labels("role", role), func(ctx context.Context) {
		for i := range n {
			rec := new(latRecorder)
			recs[i] = rec
			if client {
				loops[i], err = latClient(ctx, srv.URL, keys[i], rec, &closers)
			} else {
				loops[i], err = latBaseline(ctx, srv.URL, keys[i], rec, &closers)
			}
			if err != nil {
				return
			}
		}
	})
	if err != nil {
		return 0, 0, 0, err
	}

	start := time.Now()
	from := start.Add(cfg.warmup)
	to := from.Add(cfg.duration)
	for _, r := range recs {
		r.from, r.to = from.UnixNano(), to.UnixNano()
	}
	pprof.Do(ctx, pprof.Labels("role", role), func(context.Context) {
		for _, l := range loops {
			wg.Go(l)
		}
	})

	// The writer: a paced loop that catches up when it falls behind.
	interval := time.Second / time.Duration(n*perKey)
	for i := 0; ; i++ {
		at := start.Add(time.Duration(i) * interval)
		if !at.Before(to) {
			break
		}
		if d := time.Until(at); d > 0 {
			if err := sleepCtx(ctx, d); err != nil {
				return 0, 0, 0, err
			}
		}
		srv.Set(keys[i%n], map[string]any{"ts": time.Now().UnixNano(), "seq": int64(i)})
	}
	// Let the last values arrive.
	if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
		return 0, 0, 0, err
	}
	for _, c := range closers {
		c()
	}
	closers = nil
	wg.Wait()

	var all []float64
	for _, r := range recs {
		all = append(all, r.samples...)
		errs += r.errs
	}
	if len(all) == 0 {
		return 0, 0, errs, errors.New("no value arrived inside the window")
	}
	sort.Float64s(all)
	return quantile(all, 0.5), quantile(all, 0.99), errs, nil
}

// quantile returns the q-quantile of sorted samples (nearest rank).
func quantile(sorted []float64, q float64) float64 {
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// latClient connects an SDK client, watches key with a typed subscription,
// takes the snapshot and returns the loop that reads the updates.
func latClient(ctx context.Context, url, key string, rec *latRecorder, closers *[]func()) (func(), error) {
	c, err := sodp.Dial(ctx, url)
	if err != nil {
		return nil, err
	}
	*closers = append(*closers, func() { c.Close() })
	sub, err := sodp.Watch[Stamp](ctx, c, key)
	if err != nil {
		return nil, err
	}
	select {
	case _, ok := <-sub.Updates():
		if !ok {
			return nil, fmt.Errorf("watch %s: %w", key, sub.Err())
		}
	case <-time.After(15 * time.Second):
		return nil, fmt.Errorf("watch %s: no snapshot within 15s", key)
	}
	return func() {
		for u := range sub.Updates() {
			now := time.Now().UnixNano()
			if u.Err != nil {
				rec.errs++
				continue
			}
			rec.observe(u.Value.TS, now)
		}
	}, nil
}

// latBaseline connects a bare loop, watches key, reads the STATE_INIT and
// returns the loop that decodes each DELTA and takes the timestamp from its
// op value.
func latBaseline(ctx context.Context, url, key string, rec *latRecorder, closers *[]func()) (func(), error) {
	ws, err := bareDial(ctx, url, key)
	if err != nil {
		return nil, err
	}
	*closers = append(*closers, func() { ws.Close() })
	if _, _, err := ws.ReadMessage(); err != nil {
		return nil, err
	}
	return func() { baselineStamps(ws, rec) }, nil
}

func baselineStamps(ws *websocket.Conn, rec *latRecorder) {
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		var v any
		if err := msgpack.Unmarshal(data, &v); err != nil {
			rec.errs++
			continue
		}
		if ts, ok := stampOf(v); ok {
			rec.observe(ts, time.Now().UnixNano())
		}
	}
}

// stampOf finds the "/ts" op of a decoded DELTA frame.
func stampOf(v any) (int64, bool) {
	arr, ok := v.([]any)
	if !ok || len(arr) != 4 {
		return 0, false
	}
	if t, _ := toInt(arr[0]); t != int64(wire.TypeDelta) {
		return 0, false
	}
	body, _ := arr[3].(map[any]any)
	ops, _ := body["ops"].([]any)
	for _, o := range ops {
		if m, _ := o.(map[any]any); m["path"] == "/ts" {
			return toInt(m["value"])
		}
	}
	return 0, false
}

func toInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int8:
		return int64(n), true
	case int16:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case uint:
		return int64(n), true
	case uint8:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint32:
		return int64(n), true
	case uint64:
		return int64(n), true
	}
	return 0, false
}

// latencyScenario runs the latency cases and records their rows.
type latencyScenario struct {
	cfg  *config
	t    *table
	errs map[string]int
}

func newLatencyScenario(cfg *config, t *table) *latencyScenario {
	return &latencyScenario{cfg: cfg, t: t, errs: map[string]int{}}
}

func (s *latencyScenario) notes() []string {
	var out []string
	for name, n := range s.errs {
		out = append(out, fmt.Sprintf("warning: %s: %d updates carried an error", name, n))
	}
	return out
}

func (s *latencyScenario) rep(ctx context.Context, rep int) error {
	cfg := s.cfg
	type variant struct {
		n, perKey int
	}
	vs := []variant{{1, cfg.rate}}
	if cfg.clients > 1 {
		vs = append(vs, variant{cfg.clients, cfg.rateMany})
	}
	for _, v := range vs {
		id := fmt.Sprintf("latency/%dc", v.n)
		if !cfg.want(id) && !cfg.want(id+"/baseline") {
			continue
		}
		label := fmt.Sprintf("latency 1c @%d/s", v.perKey)
		if v.n > 1 {
			label = fmt.Sprintf("latency %dc @%d/s each (own key)", v.n, v.perKey)
		}
		b50 := s.t.row(label+" baseline", "p50", fmtMicros)
		b99 := s.t.row(label+" baseline", "p99", fmtMicros)
		cfg.logf("rep %d/%d: %s/baseline", rep, cfg.reps, id)
		p50, p99, errs, err := runLatency(ctx, cfg, v.n, v.perKey, false)
		if err != nil {
			return fmt.Errorf("%s/baseline: %w", id, err)
		}
		if errs > 0 {
			s.errs[id+"/baseline"] += errs
		}
		b50.add(p50)
		b99.add(p99)
		if !cfg.want(id) {
			continue
		}
		cfg.logf("rep %d/%d: %s", rep, cfg.reps, id)
		p50, p99, errs, err = runLatency(ctx, cfg, v.n, v.perKey, true)
		if err != nil {
			return fmt.Errorf("%s: %w", id, err)
		}
		if errs > 0 {
			s.errs[id] += errs
		}
		c50 := s.t.row(label+" client", "p50", fmtMicros)
		c50.base = b50
		c50.add(p50)
		c99 := s.t.row(label+" client", "p99", fmtMicros)
		c99.base, c99.target = b99, atMostTimes(1.2)
		c99.add(p99)
	}
	return nil
}
