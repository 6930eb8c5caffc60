package sodpotel

import (
	"context"
	"net"
	"net/url"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/sodp-go/client/sodp"
)

// span records the span of a call that returned: a client span from its
// start to its return, made when it returns (no span is open while the
// call waits), a child of the span in ctx.
func (in *instrumentation) span(ctx context.Context, ci sodp.CallInfo) {
	kv := make([]attribute.KeyValue, 0, 12)
	kv = append(kv, in.cfg.attrs...)
	kv = append(kv,
		AttrMethod.String(ci.Method),
		AttrDialect.String(ci.Dialect.String()),
		AttrSent.Bool(ci.Sent),
	)
	if ci.Key != "" {
		kv = append(kv, AttrKey.String(ci.Key))
	}
	if host, port, ok := hostPort(ci.Endpoint); ok {
		kv = append(kv, attribute.String("server.address", host))
		if port > 0 {
			kv = append(kv, attribute.Int("server.port", port))
		}
	}
	_, sp := in.tracer.Start(ctx, "sodp.call "+ci.Method,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithTimestamp(ci.Start),
		trace.WithAttributes(kv...))
	if ci.Err != nil {
		attrs := []attribute.KeyValue{AttrErrorType.String(ci.Outcome.String())}
		if ci.Outcome == sodp.CallServerError {
			attrs = append(attrs, AttrCode.Int(ci.Code), AttrAttribution.String(ci.Attribution.String()))
		}
		sp.SetAttributes(attrs...)
		sp.RecordError(ci.Err)
		sp.SetStatus(codes.Error, ci.Err.Error())
	}
	sp.End(trace.WithTimestamp(ci.Start.Add(ci.Duration)))
}

// hostPort reads the host and port of a ws:// or wss:// URL (the port
// the scheme implies when it names none).
func hostPort(endpoint string) (string, int, bool) {
	if endpoint == "" {
		return "", 0, false
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return "", 0, false
	}
	host, p, err := net.SplitHostPort(u.Host)
	if err != nil {
		host = u.Hostname()
		switch u.Scheme {
		case "wss":
			return host, 443, true
		case "ws":
			return host, 80, true
		}
		return host, 0, true
	}
	port, _ := strconv.Atoi(p)
	return host, port, true
}
