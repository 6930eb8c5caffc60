package sodpotel

import (
	"context"
	"sort"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	shared "github.com/sodp-go/client/internal/sodp"
	"github.com/sodp-go/client/sodp"
)

// Attribute keys.
const (
	AttrMethod      = attribute.Key("sodp.method")
	AttrKey         = attribute.Key("sodp.key")
	AttrDialect     = attribute.Key("sodp.dialect")
	AttrOutcome     = attribute.Key("sodp.call.outcome")
	AttrSent        = attribute.Key("sodp.call.sent")
	AttrCode        = attribute.Key("sodp.error.code")
	AttrAttribution = attribute.Key("sodp.error.attribution")
	AttrState       = attribute.Key("sodp.connection.state")
	AttrKind        = attribute.Key("sodp.update.kind")
	AttrEndReason   = attribute.Key("sodp.subscription.end_reason")
	AttrResume      = attribute.Key("sodp.resume.outcome")
	AttrDirection   = attribute.Key("network.io.direction")
	AttrErrorType   = attribute.Key("error.type")
)

// Bucket boundaries, in seconds: calls and resumes from a millisecond
// to a minute, back-off delays from 10 ms to a minute.
var (
	durationBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
	delayBuckets    = []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 30, 60}
)

// instruments are the instruments of one meter.
type instruments struct {
	meter metric.Meter

	// Recorded by the hooks.
	callDuration   metric.Float64Histogram
	attempts       metric.Int64Counter
	failures       metric.Int64Counter
	reconnectDelay metric.Float64Histogram
	resumeDuration metric.Float64Histogram
	subEnds        metric.Int64Counter
	hookDropped    metric.Int64Counter

	// Read from Stats at collection time.
	connections, subscriptions, watchedKeys, callsPending, presence metric.Int64ObservableUpDownCounter
	outbound                                                        metric.Int64ObservableGauge
	connects, reconnects, disconnects, resumeKeys, updates          metric.Int64ObservableCounter
	conflated, slowConsumers, callsSent, serverErrors, frames, io   metric.Int64ObservableCounter
	frameErrors                                                     metric.Int64ObservableCounter
}

func newInstruments(m metric.Meter, report func(error)) instruments {
	in := instruments{meter: m}
	hist := func(name, desc string, buckets []float64) metric.Float64Histogram {
		h, err := m.Float64Histogram(name, metric.WithDescription(desc), metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(buckets...))
		report(err)
		return h
	}
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, err := m.Int64Counter(name, metric.WithDescription(desc), metric.WithUnit(unit))
		report(err)
		return c
	}
	oCounter := func(name, unit, desc string) metric.Int64ObservableCounter {
		c, err := m.Int64ObservableCounter(name, metric.WithDescription(desc), metric.WithUnit(unit))
		report(err)
		return c
	}
	oUpDown := func(name, unit, desc string) metric.Int64ObservableUpDownCounter {
		c, err := m.Int64ObservableUpDownCounter(name, metric.WithDescription(desc), metric.WithUnit(unit))
		report(err)
		return c
	}
	in.callDuration = hist("sodp.client.call.duration", "Duration of calls (Call, Set, Patch, SetIn, Delete, Presence), from the call to its return.", durationBuckets)
	in.attempts = counter("sodp.client.connection.attempts", "{attempt}", "Connection attempts started.")
	in.failures = counter("sodp.client.connection.failures", "{attempt}", "Connection attempts that failed before the session went live.")
	in.reconnectDelay = hist("sodp.client.reconnect.delay", "Back-off waits before a connection attempt.", delayBuckets)
	in.resumeDuration = hist("sodp.client.resume.duration", "Duration of the resume after going live on a connection where keys were resumed.", durationBuckets)
	in.subEnds = counter("sodp.client.subscription.ends", "{subscription}", "Subscriptions that ended, by reason.")
	in.hookDropped = counter("sodp.client.hook.events.dropped", "{event}", "Events the client dropped because its hooks fell behind.")

	in.connections = oUpDown("sodp.client.connections", "{client}", "Clients by connection state.")
	in.subscriptions = oUpDown("sodp.client.subscriptions", "{subscription}", "Open subscriptions.")
	in.watchedKeys = oUpDown("sodp.client.watched_keys", "{key}", "Keys with at least one subscription.")
	in.callsPending = oUpDown("sodp.client.calls.pending", "{call}", "Calls waiting for an answer.")
	in.presence = oUpDown("sodp.client.presence.entries", "{entry}", "Presence entries the client sends again after a reconnect.")
	g, err := m.Int64ObservableGauge("sodp.client.outbound.queue", metric.WithDescription("Frames waiting to be written on the current connection."), metric.WithUnit("{frame}"))
	report(err)
	in.outbound = g
	in.connects = oCounter("sodp.client.connects", "{connection}", "Connections that went live.")
	in.reconnects = oCounter("sodp.client.reconnects", "{connection}", "Connections that went live after the first.")
	in.disconnects = oCounter("sodp.client.disconnects", "{connection}", "Connections lost.")
	in.resumeKeys = oCounter("sodp.client.resume.keys", "{key}", "Keys resumed (RESUME frames sent).")
	in.updates = oCounter("sodp.client.updates", "{update}", "Updates received and applied to the client's copy of a key, by kind.")
	in.conflated = oCounter("sodp.client.updates.conflated", "{update}", "Updates replaced by a newer one before a slow reader took them.")
	in.slowConsumers = oCounter("sodp.client.slow_consumers", "{subscription}", "Buffered subscriptions ended because their reader fell behind.")
	in.callsSent = oCounter("sodp.client.calls.sent", "{call}", "CALL frames sent.")
	in.serverErrors = oCounter("sodp.client.server_errors", "{error}", "Errors from the server (ERROR frames and failed RESULTs), by code.")
	in.frames = oCounter("sodp.client.frames", "{frame}", "Frames received and sent.")
	in.io = oCounter("sodp.client.io", "By", "Bytes of the frames received and sent.")
	in.frameErrors = oCounter("sodp.client.frame.errors", "{frame}", "Frames that could not be decoded, and deltas that did not apply.")
	return in
}

// register registers f as the callback of the observable instruments.
func (in *instruments) register(f metric.Callback) (metric.Registration, error) {
	return in.meter.RegisterCallback(f,
		in.connections, in.subscriptions, in.watchedKeys, in.callsPending, in.presence, in.outbound,
		in.connects, in.reconnects, in.disconnects, in.resumeKeys, in.updates,
		in.conflated, in.slowConsumers, in.callsSent, in.serverErrors, in.frames, in.io, in.frameErrors)
}

// The attribute values that observeStats reports.
var (
	stateNames = [...]sodp.ConnState{sodp.StateConnecting, sodp.StateLive, sodp.StateReconnecting, sodp.StateFailed, sodp.StateClosed}
	receive    = AttrDirection.String("receive")
	transmit   = AttrDirection.String("transmit")
)

// observeStats reports st, and states (the number of clients in each
// connection state), with the common attributes.
func (in *instruments) observeStats(o metric.Observer, st *sodp.Stats, states [6]int64, common attribute.Set) {
	with := func(kv ...attribute.KeyValue) metric.ObserveOption {
		if len(kv) == 0 {
			return metric.WithAttributeSet(common)
		}
		return metric.WithAttributes(append(common.ToSlice(), kv...)...)
	}
	plain := with()
	for _, s := range stateNames {
		o.ObserveInt64(in.connections, states[s], with(AttrState.String(s.String())))
	}
	o.ObserveInt64(in.subscriptions, int64(st.Subscriptions), plain)
	o.ObserveInt64(in.watchedKeys, int64(st.WatchedKeys), plain)
	o.ObserveInt64(in.callsPending, int64(st.PendingCalls), plain)
	o.ObserveInt64(in.presence, int64(st.PresenceEntries), plain)
	o.ObserveInt64(in.outbound, int64(st.OutboundQueue), plain)
	o.ObserveInt64(in.connects, int64(st.Connects), plain)
	o.ObserveInt64(in.reconnects, int64(st.Reconnects), plain)
	o.ObserveInt64(in.disconnects, int64(st.Disconnects), plain)
	o.ObserveInt64(in.resumeKeys, int64(st.Resumes), plain)
	o.ObserveInt64(in.updates, int64(st.Snapshots), with(AttrKind.String(sodp.KindSnapshot.String())))
	o.ObserveInt64(in.updates, int64(st.Deltas), with(AttrKind.String(sodp.KindDelta.String())))
	o.ObserveInt64(in.updates, int64(st.Replayed), with(AttrKind.String(sodp.KindReplayed.String())))
	o.ObserveInt64(in.updates, int64(st.Resyncs), with(AttrKind.String(sodp.KindResync.String())))
	o.ObserveInt64(in.conflated, int64(st.Conflated), plain)
	o.ObserveInt64(in.slowConsumers, int64(st.SlowConsumers), plain)
	o.ObserveInt64(in.callsSent, int64(st.CallsSent), plain)
	codes := make([]int, 0, len(st.ErrorsByCode))
	for code := range st.ErrorsByCode {
		codes = append(codes, code)
	}
	sort.Ints(codes)
	for _, code := range codes {
		o.ObserveInt64(in.serverErrors, int64(st.ErrorsByCode[code]), with(AttrCode.Int(code)))
	}
	o.ObserveInt64(in.frames, int64(st.FramesIn), with(receive))
	o.ObserveInt64(in.frames, int64(st.FramesOut), with(transmit))
	o.ObserveInt64(in.io, int64(st.BytesIn), with(receive))
	o.ObserveInt64(in.io, int64(st.BytesOut), with(transmit))
	o.ObserveInt64(in.frameErrors, int64(st.DecodeErrors), with(AttrErrorType.String("decode")))
	o.ObserveInt64(in.frameErrors, int64(st.ApplyErrors), with(AttrErrorType.String("apply")))
}

// boundedCode is code as Stats.ErrorsByCode counts it, so that a server
// cannot make a series per code.
func boundedCode(code int) int { return shared.BoundedCode(code) }

// attrs returns the option for kv and the common attributes.
func (in *instrumentation) attrs(kv ...attribute.KeyValue) metric.MeasurementOption {
	if len(kv) == 0 {
		return metric.WithAttributeSet(in.common)
	}
	return metric.WithAttributes(append(in.common.ToSlice(), kv...)...)
}

// call records a call's duration and makes its span.
func (in *instrumentation) call(ctx context.Context, ci sodp.CallInfo) {
	kv := []attribute.KeyValue{
		AttrMethod.String(ci.Method),
		AttrDialect.String(ci.Dialect.String()),
		AttrOutcome.String(ci.Outcome.String()),
	}
	if ci.Outcome == sodp.CallServerError {
		kv = append(kv, AttrCode.Int(boundedCode(ci.Code)))
	}
	if in.cfg.keyAttr && ci.Key != "" {
		kv = append(kv, AttrKey.String(ci.Key))
	}
	in.m.callDuration.Record(ctx, ci.Duration.Seconds(), in.attrs(kv...))
	if in.tracer != nil {
		in.span(ctx, ci)
	}
}

// connection records the connection lifecycle.
func (in *instrumentation) connection(ev sodp.ConnectionEvent) {
	ctx := context.Background()
	switch ev.Stage {
	case sodp.StageAttempt:
		in.m.attempts.Add(ctx, 1, in.attrs())
	case sodp.StageAttemptFailed:
		in.m.failures.Add(ctx, 1, in.attrs(AttrErrorType.String(errorType(ev.Err))))
	case sodp.StageBackoff:
		in.m.reconnectDelay.Record(ctx, ev.Delay.Seconds(), in.attrs())
	}
}

// resume records a resume's duration and outcome.
func (in *instrumentation) resume(ev sodp.ResumeEvent) {
	outcome := "complete"
	if ev.Err != nil {
		outcome = "interrupted"
	}
	in.m.resumeDuration.Record(context.Background(), ev.Duration.Seconds(),
		in.attrs(AttrDialect.String(ev.Dialect.String()), AttrResume.String(outcome)))
}

// subscription counts the subscriptions that end, by reason.
func (in *instrumentation) subscription(ev sodp.SubscriptionEvent) {
	if ev.Opened {
		return
	}
	in.m.subEnds.Add(context.Background(), 1, in.attrs(AttrEndReason.String(ev.Reason.String())))
}

// dropped counts the events the client could not hand to the hooks.
func (in *instrumentation) dropped(n uint64) {
	in.m.hookDropped.Add(context.Background(), int64(n), in.attrs())
}
