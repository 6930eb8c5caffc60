package sodpotel_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"

	"github.com/sodp-go/client/internal/testutil"
	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodpotel"
	"github.com/sodp-go/client/sodp/sodptest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const wait = 5 * time.Second

// telemetry is an SDK meter provider with a manual reader and a tracer
// provider with an in-memory span recorder.
type telemetry struct {
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
}

func newTelemetry(t testing.TB) *telemetry {
	tel := &telemetry{reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder()}
	tel.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(tel.reader))
	tel.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tel.spans))
	t.Cleanup(func() {
		_ = tel.mp.Shutdown(context.Background())
		_ = tel.tp.Shutdown(context.Background())
	})
	return tel
}

// option instruments a client with tel's providers.
func (tel *telemetry) option(opts ...sodpotel.Option) sodp.Option {
	return sodpotel.Instrument(append([]sodpotel.Option{sodpotel.WithMeterProvider(tel.mp), sodpotel.WithTracerProvider(tel.tp)}, opts...)...)
}

// collect reads every metric.
func (tel *telemetry) collect(t testing.TB) *metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := tel.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	m := &metrics{byName: map[string]metricdata.Metrics{}}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != sodpotel.ScopeName {
			t.Fatalf("scope %q", sm.Scope.Name)
		}
		for _, mt := range sm.Metrics {
			m.byName[mt.Name] = mt
		}
	}
	return m
}

// metrics are the metrics of one collection, by name.
type metrics struct {
	byName map[string]metricdata.Metrics
}

// matches reports whether set holds every attribute of want.
func matches(set attribute.Set, want []attribute.KeyValue) bool {
	for _, kv := range want {
		v, ok := set.Value(kv.Key)
		if !ok || v != kv.Value {
			return false
		}
	}
	return true
}

// value sums the points of an int64 sum or gauge, or counts the
// measurements of a histogram, whose attributes hold want; found says
// whether the metric exists at all.
func (m *metrics) value(name string, want ...attribute.KeyValue) (v int64, found bool) {
	mt, ok := m.byName[name]
	if !ok {
		return 0, false
	}
	switch d := mt.Data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			if matches(p.Attributes, want) {
				v += p.Value
			}
		}
	case metricdata.Gauge[int64]:
		for _, p := range d.DataPoints {
			if matches(p.Attributes, want) {
				v += p.Value
			}
		}
	case metricdata.Histogram[float64]:
		for _, p := range d.DataPoints {
			if matches(p.Attributes, want) {
				v += int64(p.Count)
			}
		}
	}
	return v, true
}

// series counts the data points (attribute sets) of every metric.
func (m *metrics) series() (total int, per map[string]int) {
	per = map[string]int{}
	for name, mt := range m.byName {
		n := 0
		switch d := mt.Data.(type) {
		case metricdata.Sum[int64]:
			n = len(d.DataPoints)
		case metricdata.Gauge[int64]:
			n = len(d.DataPoints)
		case metricdata.Histogram[float64]:
			n = len(d.DataPoints)
		}
		per[name] = n
		total += n
	}
	return total, per
}

// attributeKeys lists the attribute keys used by any point of any metric.
func (m *metrics) attributeKeys() []string {
	seen := map[string]bool{}
	add := func(s attribute.Set) {
		for _, kv := range s.ToSlice() {
			seen[string(kv.Key)] = true
		}
	}
	for _, mt := range m.byName {
		switch d := mt.Data.(type) {
		case metricdata.Sum[int64]:
			for _, p := range d.DataPoints {
				add(p.Attributes)
			}
		case metricdata.Gauge[int64]:
			for _, p := range d.DataPoints {
				add(p.Attributes)
			}
		case metricdata.Histogram[float64]:
			for _, p := range d.DataPoints {
				add(p.Attributes)
			}
		}
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (m *metrics) String() string {
	var b strings.Builder
	names := make([]string, 0, len(m.byName))
	for n := range m.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "%s %+v\n", n, m.byName[n].Data)
	}
	return b.String()
}

func newServer(t testing.TB, opts ...sodptest.Option) *sodptest.Server {
	t.Helper()
	srv := sodptest.NewServer(opts...)
	t.Cleanup(srv.Close)
	return srv
}

func dial(t testing.TB, url string, opts ...sodp.Option) *sodp.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := sodp.Dial(ctx, url, append([]sodp.Option{sodp.WithBackoff(10*time.Millisecond, 100*time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 6*wait)
	t.Cleanup(cancel)
	return ctx
}

func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, wait, what, cond)
}

// nextUntil reads updates until one satisfies ok.
func nextUntil[T any](t testing.TB, sub *sodp.Subscription[T], ok func(sodp.Update[T]) bool) sodp.Update[T] {
	t.Helper()
	return testutil.NextUntil(t, wait, sub, ok)
}

// ended waits until the subscription's Updates is closed, and returns Err.
func ended[T any](t testing.TB, sub *sodp.Subscription[T]) error {
	t.Helper()
	return testutil.Closed(t, wait, sub)
}
