package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The example serves a scrape with the client's metrics, in Prometheus
// names and units.
func TestScrape(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out strings.Builder
	if err := run(ctx, "127.0.0.1:0", "", true, &out); err != nil {
		t.Fatal(err)
	}
	http.DefaultClient.CloseIdleConnections()
	got := out.String()
	for _, want := range []string{
		`sodp_client_call_duration_seconds_bucket{`,
		`sodp_call_outcome="ok"`,
		`sodp_method="state.set"`,
		`sodp_client_updates_total{`,
		`sodp_update_kind="delta"`,
		`sodp_client_connections{`,
		`sodp_connection_state="live"`,
		`sodp_client_io_bytes_total{`,
		`sodp_client_subscriptions{`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the scrape has no %s", want)
		}
	}
	if strings.Contains(got, "sodp_key") || strings.Contains(got, "demo.counter") {
		t.Error("the scrape names a key")
	}
	if t.Failed() {
		t.Log(got)
	}
}
