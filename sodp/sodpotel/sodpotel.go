package sodpotel

import (
	"context"
	"errors"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/sodp-go/client/sodp"
)

// ScopeName is the instrumentation scope of the meter and the tracer.
const ScopeName = "github.com/sodp-go/client/sodp/sodpotel"

// Option configures Instrument.
type Option func(*config)

type config struct {
	mp       metric.MeterProvider
	tp       trace.TracerProvider
	keyAttr  bool
	attrs    []attribute.KeyValue
	noTraces bool
}

// WithMeterProvider sets the MeterProvider. Default: otel.GetMeterProvider().
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.mp = mp }
}

// WithTracerProvider sets the TracerProvider. Default: otel.GetTracerProvider().
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tp = tp }
}

// WithKeyAttribute adds the key written (sodp.key) to the call metrics.
// Each key then makes series of its own: use it only when the keys are
// few and known. Spans carry the key whatever this option says. Default:
// off.
func WithKeyAttribute() Option {
	return func(c *config) { c.keyAttr = true }
}

// WithAttributes adds attrs to every metric and span, to tell clients
// apart (a client's name, say). They should take few values. Default:
// none.
func WithAttributes(attrs ...attribute.KeyValue) Option {
	return func(c *config) { c.attrs = append(c.attrs, attrs...) }
}

// WithoutTraces makes no spans. Default: a span per call.
func WithoutTraces() Option {
	return func(c *config) { c.noTraces = true }
}

// Instrument returns an option for sodp.Dial or sodp.New that records the
// client's metrics and traces (see the package documentation for what is
// measured). The instruments are made once, by Instrument; an error in
// making one goes to otel.Handle and leaves that instrument out. The
// option may be given to several clients: their metrics are summed.
func Instrument(opts ...Option) sodp.Option {
	cfg := config{}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.mp == nil {
		cfg.mp = otel.GetMeterProvider()
	}
	if cfg.tp == nil {
		cfg.tp = otel.GetTracerProvider()
	}
	in := newInstrumentation(cfg)
	return sodp.WithHooks(in.hooks())
}

// instrumentation is what one Instrument option records with.
type instrumentation struct {
	cfg    config
	tracer trace.Tracer // nil: no spans
	common attribute.Set
	m      instruments

	mu      sync.Mutex
	clients map[*sodp.Client]struct{}
	retired sodp.Stats // the final counters of the clients that closed

	regMu sync.Mutex          // held to register or unregister the callback; never by the callback
	reg   metric.Registration // under regMu
}

func newInstrumentation(cfg config) *instrumentation {
	in := &instrumentation{cfg: cfg, common: attribute.NewSet(cfg.attrs...), clients: make(map[*sodp.Client]struct{})}
	in.retired.ErrorsByCode = map[int]uint64{}
	meter := cfg.mp.Meter(ScopeName)
	in.m = newInstruments(meter, handle)
	if !cfg.noTraces {
		in.tracer = cfg.tp.Tracer(ScopeName)
	}
	return in
}

// handle reports an error of the instrumentation itself.
func handle(err error) {
	if err != nil {
		otel.Handle(err)
	}
}

func (in *instrumentation) hooks() sodp.Hooks {
	return sodp.Hooks{
		Opened:       in.opened,
		Closed:       in.closed,
		Call:         in.call,
		Connection:   in.connection,
		Resume:       in.resume,
		Subscription: in.subscription,
		Dropped:      in.dropped,
	}
}

// opened adds a client to those the observable instruments read, and
// registers their callback with the first one.
func (in *instrumentation) opened(c *sodp.Client) {
	in.regMu.Lock()
	defer in.regMu.Unlock()
	in.mu.Lock()
	in.clients[c] = struct{}{}
	in.mu.Unlock()
	if in.reg == nil {
		reg, err := in.m.register(in.observe)
		handle(err)
		in.reg = reg
	}
}

// closed keeps a closing client's counters in the sums and stops reading
// it; with the last client the callback is unregistered.
//
// The meter may be running the callback, which takes mu: the callback is
// (un)registered without holding mu.
func (in *instrumentation) closed(c *sodp.Client) {
	st := c.Stats()
	in.regMu.Lock()
	defer in.regMu.Unlock()
	in.mu.Lock()
	_, ok := in.clients[c]
	if ok {
		delete(in.clients, c)
		addCounters(&in.retired, st)
	}
	last := len(in.clients) == 0
	in.mu.Unlock()
	if ok && last && in.reg != nil {
		handle(in.reg.Unregister())
		in.reg = nil
	}
}

// observe reports the observable instruments: the sum of every client's
// Stats, with the counters of the clients that closed.
func (in *instrumentation) observe(_ context.Context, o metric.Observer) error {
	in.mu.Lock()
	sum := in.retired
	sum.ErrorsByCode = make(map[int]uint64, len(in.retired.ErrorsByCode))
	for code, n := range in.retired.ErrorsByCode {
		sum.ErrorsByCode[code] = n
	}
	var states [6]int64
	for c := range in.clients {
		st := c.Stats()
		addCounters(&sum, st)
		addGauges(&sum, st)
		if s := c.State(); int(s) < len(states) {
			states[s]++
		}
	}
	in.mu.Unlock()
	in.m.observeStats(o, &sum, states, in.common)
	return nil
}

// addCounters adds the counters of st (not its gauges) to sum.
func addCounters(sum *sodp.Stats, st sodp.Stats) {
	sum.Connects += st.Connects
	sum.Reconnects += st.Reconnects
	sum.Disconnects += st.Disconnects
	sum.Resumes += st.Resumes
	sum.Replayed += st.Replayed
	sum.Resyncs += st.Resyncs
	sum.Deltas += st.Deltas
	sum.Snapshots += st.Snapshots
	sum.Conflated += st.Conflated
	sum.SlowConsumers += st.SlowConsumers
	sum.CallsSent += st.CallsSent
	sum.Errors += st.Errors
	sum.FramesIn += st.FramesIn
	sum.FramesOut += st.FramesOut
	sum.BytesIn += st.BytesIn
	sum.BytesOut += st.BytesOut
	sum.DecodeErrors += st.DecodeErrors
	sum.ApplyErrors += st.ApplyErrors
	for code, n := range st.ErrorsByCode {
		sum.ErrorsByCode[code] += n
	}
}

// addGauges adds the gauges of st to sum.
func addGauges(sum *sodp.Stats, st sodp.Stats) {
	sum.Subscriptions += st.Subscriptions
	sum.WatchedKeys += st.WatchedKeys
	sum.PendingCalls += st.PendingCalls
	sum.PresenceEntries += st.PresenceEntries
	sum.OutboundQueue += st.OutboundQueue
}

// errorType names the kind of a connection error with one of a few
// values.
func errorType(err error) string {
	var ce *sodp.CloseError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, sodp.ErrUnauthorized):
		return "unauthorized"
	case errors.Is(err, sodp.ErrTooLarge):
		return "too_large"
	case errors.As(err, &ce):
		return "closed_by_server"
	case errors.Is(err, sodp.ErrProtocol):
		return "protocol"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, sodp.ErrConnectFailed):
		return "connect_failed"
	case errors.Is(err, sodp.ErrConnectionLost):
		return "connection_lost"
	}
	return "other"
}
