package sodpotel

import (
	"context"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/sodp-go/client/sodp"
)

// A server error code outside 0 and 100–599 is recorded as
// sodp.OtherErrorCode, as Stats counts it: a server cannot make a series
// per code it invents.
func TestServerErrorCodesBounded(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	in := newInstrumentation(config{mp: mp, noTraces: true})
	for i, code := range []int{403, 7000, 123456, -5, 0} {
		in.call(context.Background(), sodp.CallInfo{
			Method: "state.set", Duration: time.Millisecond, Outcome: sodp.CallServerError, Code: code,
			Start: time.Unix(int64(i), 0),
		})
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[int64]uint64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "sodp.client.call.duration" {
				continue
			}
			for _, p := range m.Data.(metricdata.Histogram[float64]).DataPoints {
				v, _ := p.Attributes.Value(AttrCode)
				got[v.AsInt64()] += p.Count
			}
		}
	}
	want := map[int64]uint64{403: 1, sodp.OtherErrorCode: 3, 0: 1}
	if len(got) != len(want) {
		t.Fatalf("codes recorded %v, want %v", got, want)
	}
	for code, n := range want {
		if got[code] != n {
			t.Fatalf("codes recorded %v, want %v", got, want)
		}
	}
}
