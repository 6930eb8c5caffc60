module github.com/sodp-go/client

go 1.25.0

require (
	github.com/gorilla/websocket v1.5.3
	github.com/shamaton/msgpack/v2 v2.4.1
	go.uber.org/goleak v1.3.0
	golang.org/x/sync v0.10.0
)
