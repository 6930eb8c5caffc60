package sodpotel_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/trace"

	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodpotel"
	"github.com/sodp-go/client/sodp/sodptest"
)

// stableStats returns the client's Stats and a collection made while they
// did not change (the client is idle, but a heartbeat may pass).
func stableStats(t *testing.T, c *sodp.Client, tel *telemetry) (sodp.Stats, *metrics) {
	t.Helper()
	for range 50 {
		before := c.Stats()
		m := tel.collect(t)
		if after := c.Stats(); reflect.DeepEqual(before, after) {
			return before, m
		}
	}
	t.Fatal("the client's Stats do not settle")
	return sodp.Stats{}, nil
}

// After a scripted scenario — writes, a refused write and a refused key, a
// dropped connection with its resume, a slow consumer — every observable
// instrument equals the counter of Stats it reads, and the instruments
// the hooks record count what happened.
func TestMetricsEqualStats(t *testing.T) {
	srv := newServer(t, sodptest.WithACL(func(_, key string, write bool) bool {
		return !strings.HasPrefix(key, "secret.") && (!write || !strings.HasPrefix(key, "ro."))
	}))
	srv.Set("a", 0)
	srv.Set("b", 0)
	tel := newTelemetry(t)
	instrument := tel.option()
	c := dial(t, srv.URL, instrument)
	ctx := ctxT(t)

	subA, err := sodp.Watch[int](ctx, c, "a")
	if err != nil {
		t.Fatal(err)
	}
	defer subA.Close()
	subB, err := sodp.Watch[int](ctx, c, "b", sodp.WithBuffer(2))
	if err != nil {
		t.Fatal(err)
	}
	nextUntil(t, subA, func(sodp.Update[int]) bool { return true })
	nextUntil(t, subB, func(sodp.Update[int]) bool { return true })

	// Writes, a write refused (403), a key refused (403).
	for i := 1; i <= 5; i++ {
		if _, err := c.Set(ctx, "a", i); err != nil {
			t.Fatal(err)
		}
	}
	nextUntil(t, subA, func(u sodp.Update[int]) bool { return u.Value == 5 })
	if _, err := c.Set(ctx, "ro.x", 1); !errors.Is(err, sodp.ErrForbidden) {
		t.Fatalf("write to ro.x: %v", err)
	}
	secret, err := sodp.Watch[int](ctx, c, "secret.x")
	if err != nil {
		t.Fatal(err)
	}
	if err := ended(t, secret); !errors.Is(err, sodp.ErrForbidden) {
		t.Fatalf("secret.x ended with %v", err)
	}

	// A dropped connection, with a replay of two changes of a at least
	// (and of the DELTAs of the writes above still on their way, if any).
	before := c.Stats().Connects
	srv.DropConnections()
	srv.Set("a", 6)
	srv.Set("a", 7)
	eventually(t, "reconnect", func() bool { return c.Stats().Connects > before && c.State() == sodp.StateLive })
	nextUntil(t, subA, func(u sodp.Update[int]) bool { return u.Value == 7 })

	// A slow consumer: b's reader reads nothing.
	for i := 1; i <= 10; i++ {
		srv.Set("b", i)
	}
	// Read only once it has overflowed (the subscription is released at
	// once, its waiting updates still delivered): a reader that reads
	// meanwhile keeps up.
	eventually(t, "b's reader falls behind", func() bool { return c.Stats().Subscriptions == 1 })
	if err := ended(t, subB); !errors.Is(err, sodp.ErrSlowConsumer) {
		t.Fatalf("b ended with %v", err)
	}
	eventually(t, "the slow consumer's end is reported", func() bool {
		v, _ := tel.collect(t).value("sodp.client.subscription.ends", sodpotel.AttrEndReason.String("slow_consumer"))
		return v == 1
	})
	eventually(t, "the resume is reported", func() bool {
		v, _ := tel.collect(t).value("sodp.client.resume.duration")
		return v == 1
	})
	if _, err := c.Set(ctx, "a", 8); err != nil { // a round trip: the client is idle after it
		t.Fatal(err)
	}

	st, m := stableStats(t, c, tel)
	recv, send := sodpotel.AttrDirection.String("receive"), sodpotel.AttrDirection.String("transmit")
	kind := func(k sodp.Kind) attribute.KeyValue { return sodpotel.AttrKind.String(k.String()) }
	checks := []struct {
		name  string
		attrs []attribute.KeyValue
		want  uint64
	}{
		{"sodp.client.connects", nil, st.Connects},
		{"sodp.client.reconnects", nil, st.Reconnects},
		{"sodp.client.disconnects", nil, st.Disconnects},
		{"sodp.client.resume.keys", nil, st.Resumes},
		{"sodp.client.updates", []attribute.KeyValue{kind(sodp.KindSnapshot)}, st.Snapshots},
		{"sodp.client.updates", []attribute.KeyValue{kind(sodp.KindDelta)}, st.Deltas},
		{"sodp.client.updates", []attribute.KeyValue{kind(sodp.KindReplayed)}, st.Replayed},
		{"sodp.client.updates", []attribute.KeyValue{kind(sodp.KindResync)}, st.Resyncs},
		{"sodp.client.updates.conflated", nil, st.Conflated},
		{"sodp.client.slow_consumers", nil, st.SlowConsumers},
		{"sodp.client.calls.sent", nil, st.CallsSent},
		{"sodp.client.server_errors", nil, st.Errors},
		{"sodp.client.server_errors", []attribute.KeyValue{sodpotel.AttrCode.Int(403)}, st.ErrorsByCode[403]},
		{"sodp.client.frames", []attribute.KeyValue{recv}, st.FramesIn},
		{"sodp.client.frames", []attribute.KeyValue{send}, st.FramesOut},
		{"sodp.client.io", []attribute.KeyValue{recv}, st.BytesIn},
		{"sodp.client.io", []attribute.KeyValue{send}, st.BytesOut},
		{"sodp.client.frame.errors", []attribute.KeyValue{sodpotel.AttrErrorType.String("decode")}, st.DecodeErrors},
		{"sodp.client.frame.errors", []attribute.KeyValue{sodpotel.AttrErrorType.String("apply")}, st.ApplyErrors},
		{"sodp.client.subscriptions", nil, uint64(st.Subscriptions)},
		{"sodp.client.watched_keys", nil, uint64(st.WatchedKeys)},
		{"sodp.client.calls.pending", nil, uint64(st.PendingCalls)},
		{"sodp.client.presence.entries", nil, uint64(st.PresenceEntries)},
		{"sodp.client.outbound.queue", nil, uint64(st.OutboundQueue)},
		{"sodp.client.connections", []attribute.KeyValue{sodpotel.AttrState.String("live")}, 1},
		{"sodp.client.connections", nil, 1},
		// Recorded by the hooks.
		{"sodp.client.connection.attempts", nil, st.Connects},
		{"sodp.client.reconnect.delay", nil, st.Reconnects},
		{"sodp.client.resume.duration", []attribute.KeyValue{sodpotel.AttrResume.String("complete"), sodpotel.AttrDialect.String("spec")}, 1},
		{"sodp.client.call.duration", []attribute.KeyValue{sodpotel.AttrMethod.String("state.set"), sodpotel.AttrOutcome.String("ok")}, 6},
		{"sodp.client.call.duration", []attribute.KeyValue{sodpotel.AttrOutcome.String("server_error"), sodpotel.AttrCode.Int(403)}, 1},
		{"sodp.client.subscription.ends", []attribute.KeyValue{sodpotel.AttrEndReason.String("refused")}, 1},
		{"sodp.client.subscription.ends", []attribute.KeyValue{sodpotel.AttrEndReason.String("slow_consumer")}, 1},
	}
	for _, ck := range checks {
		got, found := m.value(ck.name, ck.attrs...)
		if !found || uint64(got) != ck.want {
			t.Errorf("%s%v = %d (found %v), want %d", ck.name, ck.attrs, got, found, ck.want)
		}
	}
	// The scenario did what it says.
	if st.Reconnects != 1 || st.Replayed < 2 || st.Deltas+st.Replayed < 7 || st.SlowConsumers != 1 || st.ErrorsByCode[403] != 2 || st.Snapshots < 2 {
		t.Errorf("scenario: %+v", st)
	}
	if t.Failed() {
		t.Logf("stats %+v\nmetrics\n%s", st, m)
	}
	if _, found := m.value("sodp.client.connection.failures"); found {
		t.Error("connection failures reported without any")
	}
	for _, k := range m.attributeKeys() {
		if k == string(sodpotel.AttrKey) {
			t.Error("a metric carries the key without WithKeyAttribute")
		}
	}

	// Closed: its counters stay in the sums while another client of the
	// same option is open.
	c2 := dial(t, srv.URL, instrument)
	final := c.Stats()
	c.Close()
	m = tel.collect(t)
	if v, _ := m.value("sodp.client.connects"); uint64(v) != final.Connects+1 {
		t.Errorf("connects after one client closed = %d, want %d", v, final.Connects+1)
	}
	if v, _ := m.value("sodp.client.connections", sodpotel.AttrState.String("live")); v != 1 {
		t.Errorf("live clients = %d, want 1", v)
	}
	// Once the last client of the option has closed, the observable
	// instruments report nothing more.
	c2.Close()
	if _, found := tel.collect(t).value("sodp.client.connects"); found {
		t.Error("connects still reported with every client closed")
	}
}

// A failed call's span has the error status, the outcome and the server's
// code; a successful one has its attributes and the caller's span as
// parent.
func TestCallSpans(t *testing.T) {
	srv := newServer(t, sodptest.WithACL(func(_, key string, write bool) bool { return !write || key != "ro" }))
	tel := newTelemetry(t)
	c := dial(t, srv.URL, tel.option(sodpotel.WithAttributes(attribute.String("app.client", "t"))))
	ctx, parent := tel.tp.Tracer("test").Start(ctxT(t), "parent")
	if _, err := c.Set(ctx, "k", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Set(ctx, "ro", 1); !errors.Is(err, sodp.ErrForbidden) {
		t.Fatalf("write to ro: %v", err)
	}
	parent.End()
	spans := tel.spans.Ended()
	if len(spans) != 3 {
		t.Fatalf("%d spans, want 3", len(spans))
	}
	ok, failed := spans[0], spans[1]
	for _, sp := range []interface {
		Name() string
		SpanKind() trace.SpanKind
		Parent() trace.SpanContext
	}{ok, failed} {
		if sp.Name() != "sodp.call state.set" || sp.SpanKind() != trace.SpanKindClient || sp.Parent().SpanID() != parent.SpanContext().SpanID() {
			t.Fatalf("span %s kind %v parent %v", sp.Name(), sp.SpanKind(), sp.Parent().SpanID())
		}
	}
	attrs := func(kvs []attribute.KeyValue) map[string]string {
		m := map[string]string{}
		for _, kv := range kvs {
			m[string(kv.Key)] = kv.Value.String()
		}
		return m
	}
	a := attrs(ok.Attributes())
	want := map[string]string{"sodp.method": "state.set", "sodp.key": "k", "sodp.dialect": "spec", "sodp.call.sent": "true", "server.address": "127.0.0.1", "app.client": "t"}
	for k, v := range want {
		if a[k] != v {
			t.Errorf("ok span %s = %q, want %q (all: %v)", k, a[k], v, a)
		}
	}
	if a["server.port"] == "" || ok.Status().Code != codes.Unset || !ok.EndTime().After(ok.StartTime()) {
		t.Errorf("ok span: port %q status %v", a["server.port"], ok.Status())
	}
	f := attrs(failed.Attributes())
	if failed.Status().Code != codes.Error || !strings.Contains(failed.Status().Description, "403") ||
		f["sodp.error.code"] != "403" || f["error.type"] != "server_error" || f["sodp.key"] != "ro" || f["sodp.error.attribution"] == "" {
		t.Errorf("failed span: status %+v attributes %v", failed.Status(), f)
	}
	if len(failed.Events()) != 1 || failed.Events()[0].Name != "exception" {
		t.Errorf("failed span events %+v", failed.Events())
	}
}

// The number of series does not grow with the number of keys: 10,000
// keys watched and written make as many as 10 do. WithKeyAttribute, the
// opt-in, adds a series per key written.
func TestSeriesBoundedByKeys(t *testing.T) {
	count := func(t *testing.T, n int, opts ...sodpotel.Option) (int, map[string]int) {
		srv := newServer(t)
		tel := newTelemetry(t)
		c := dial(t, srv.URL, tel.option(append([]sodpotel.Option{sodpotel.WithoutTraces()}, opts...)...))
		ctx := ctxT(t)
		keys := make([]string, n)
		for i := range keys {
			keys[i] = fmt.Sprintf("k.%d", i)
		}
		sub, err := sodp.WatchMany[int](ctx, c, keys)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		var wg sync.WaitGroup
		errs := make(chan error, 1)
		const workers = 32
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += workers {
					if _, err := c.Set(ctx, keys[i], i); err != nil {
						select {
						case errs <- err:
						default:
						}
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		eventually(t, "every key's value", func() bool {
			st := c.Stats()
			return st.Snapshots+st.Deltas >= uint64(2*n)
		})
		// What the hooks record arrives on the hooks' own goroutine: wait
		// until the connection attempt is in before counting.
		eventually(t, "the connection attempt recorded", func() bool {
			v, ok := tel.collect(t).value("sodp.client.connection.attempts")
			return ok && v >= 1
		})
		total, per := tel.collect(t).series()
		return total, per
	}
	small, perSmall := count(t, 10)
	large, perLarge := count(t, 10000)
	if small != large {
		t.Fatalf("%d series with 10 keys, %d with 10,000\n10: %v\n10000: %v", small, large, perSmall, perLarge)
	}
	// With the key attribute, the calls' histogram has a series per key
	// (counted on its own: the other metrics' series depend on how the
	// updates happened to arrive, conflated or not).
	keyed, perKeyed := count(t, 10, sodpotel.WithKeyAttribute())
	const calls = "sodp.client.call.duration"
	if perSmall[calls] != 1 || perKeyed[calls] != 10 {
		t.Fatalf("%s: %d series without the key attribute, %d with it for 10 keys; want 1 and 10\nwithout: %v\nwith: %v",
			calls, perSmall[calls], perKeyed[calls], perSmall, perKeyed)
	}
	t.Logf("series: %d for 10 keys and for 10,000 keys; %d with the key attribute for 10 keys", small, keyed)
}

// A client made with Instrument and the global providers (no options)
// works: the global no-op providers record nothing and cost little.
func TestGlobalProviders(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL, sodpotel.Instrument())
	if _, err := c.Set(ctxT(t), "k", 1); err != nil {
		t.Fatal(err)
	}
	_ = context.Background()
}

// Clients that open and close while the meter collects: the callback
// (which the meter runs holding its own lock) and the registration of the
// callback (which takes that lock) never wait for each other.
func TestOpenCloseWhileCollecting(t *testing.T) {
	srv := newServer(t)
	tel := newTelemetry(t)
	instrument := tel.option()
	stop := make(chan struct{})
	collected := make(chan int)
	go func() {
		n := 0
		defer func() { collected <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			var rm metricdata.ResourceMetrics
			_ = tel.reader.Collect(context.Background(), &rm)
			n++
		}
	}()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 100 {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			c, err := sodp.Dial(ctx, srv.URL, instrument)
			cancel()
			if err != nil {
				t.Error(err)
				return
			}
			c.Close()
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("opening and closing clients while collecting is stuck")
	}
	close(stop)
	if n := <-collected; n == 0 {
		t.Fatal("nothing collected")
	}
}
