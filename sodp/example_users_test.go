package sodp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

// Events tells the connection's ups and downs, and the errors that belong
// to no call: here the server cuts the connection and the client
// reconnects on its own.
func ExampleClient_Events() {
	srv := sodptest.NewServer()
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	client, err := sodp.Dial(ctx, srv.URL, sodp.WithBackoff(10*time.Millisecond, 100*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	events := client.Events()
	fmt.Println((<-events).State) // the current state comes first
	srv.DropConnections()
	for ev := range events {
		if ev.Err != nil {
			fmt.Println("error:", errors.Is(ev.Err, sodp.ErrConnectionLost))
			continue
		}
		fmt.Println(ev.State)
		if ev.State == sodp.StateLive {
			break
		}
	}
	// Output:
	// live
	// error: true
	// reconnecting
	// live
}

// A buffered subscription (WithBuffer) delivers every update, but a reader
// that falls more than the buffer behind ends it with ErrSlowConsumer,
// after the updates already waiting. The default, conflation, never ends
// a slow reader: it skips to the newest value instead.
func ExampleErrSlowConsumer() {
	srv := sodptest.NewServer()
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	client, err := sodp.Dial(ctx, srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	srv.Set("ticks", 0)
	sub, err := sodp.Watch[int](ctx, client, "ticks", sodp.WithBuffer(2))
	if err != nil {
		log.Fatal(err)
	}
	<-sub.Updates() // the first value; then nobody reads sub
	watcher, err := sodp.Watch[int](ctx, client, "ticks")
	if err != nil {
		log.Fatal(err)
	}
	for i := 1; i <= 10; i++ {
		srv.Set("ticks", i)
	}
	for u := range watcher.Updates() {
		if u.Value == 10 { // every update has reached sub too
			break
		}
	}
	for range sub.Updates() {
		// the updates that were waiting when it fell behind
	}
	fmt.Println(errors.Is(sub.Err(), sodp.ErrSlowConsumer))
	// Output: true
}

// Presence values last as long as the writer's connection: the server
// removes them when it ends, and every watcher sees it. The client
// writes them again after a reconnect.
func ExampleClient_Presence() {
	srv := sodptest.NewServer()
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	alice, err := sodp.Dial(ctx, srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	bob, err := sodp.Dial(ctx, srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer bob.Close()

	type room struct {
		Online map[string]bool `json:"online"`
	}
	sub, err := sodp.Watch[room](ctx, bob, "chat.room")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := alice.Presence(ctx, "chat.room", "/online/alice", true); err != nil {
		log.Fatal(err)
	}
	for u := range sub.Updates() {
		if u.Value.Online["alice"] {
			fmt.Println("alice is online")
			break
		}
	}
	alice.Close() // or her connection drops
	for u := range sub.Updates() {
		if u.Initialized && !u.Value.Online["alice"] {
			fmt.Println("alice left")
			break
		}
	}
	// Output:
	// alice is online
	// alice left
}

// CallAs decodes a custom method's result into a type, by the rules Watch
// uses.
func ExampleCallAs() {
	srv := sodptest.NewServer(sodptest.WithMethod("game.stats", func(map[string]any) (any, error) {
		return map[string]any{"players": 3, "leader": "alice"}, nil
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	client, err := sodp.Dial(ctx, srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	type stats struct {
		Players int    `json:"players"`
		Leader  string `json:"leader"`
	}
	s, err := sodp.CallAs[stats](ctx, client, "game.stats", nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%+v\n", s)
	// Output: {Players:3 Leader:alice}
}

// A Group reads subscriptions of different types from one channel, with
// no goroutine of its own per subscription.
func ExampleGroup() {
	srv := sodptest.NewServer()
	defer srv.Close()
	srv.Set("app.config", map[string]any{"level": "info"})
	srv.Set("app.users", 42)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	client, err := sodp.Dial(ctx, srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	type config struct {
		Level string `json:"level"`
	}
	g := sodp.NewGroup()
	defer g.Close()
	cfg, err := sodp.Watch[config](ctx, client, "app.config", sodp.InGroup(g))
	if err != nil {
		log.Fatal(err)
	}
	users, err := sodp.Watch[int](ctx, client, "app.users", sodp.InGroup(g))
	if err != nil {
		log.Fatal(err)
	}
	var level string
	var count int
	for n := range g.Notices() {
		if u, ok := cfg.From(n); ok {
			level = u.Value.Level
		} else if u, ok := users.From(n); ok {
			count = u.Value
		}
		if level != "" && count != 0 {
			break
		}
	}
	fmt.Println(level, count)
	// Output: info 42
}

// A value can be watched as raw JSON, for code that hands it on.
func ExampleWatch_rawJSON() {
	srv := sodptest.NewServer()
	defer srv.Close()
	srv.Set("app.config", map[string]any{"level": "info", "retries": 3})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	client, err := sodp.Dial(ctx, srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	u, err := sodp.Get[json.RawMessage](ctx, client, "app.config")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(u.Value))
	// Output: {"level":"info","retries":3}
}

// AddKeys and RemoveKeys change what a subscription watches while it runs.
func ExampleSubscription_AddKeys() {
	srv := sodptest.NewServer()
	defer srv.Close()
	srv.Set("sensor.a", 1)
	srv.Set("sensor.b", 2)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	client, err := sodp.Dial(ctx, srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	sub, err := sodp.WatchMany[int](ctx, client, []string{"sensor.a"})
	if err != nil {
		log.Fatal(err)
	}
	u := <-sub.Updates()
	fmt.Println(u.Key, u.Value)
	if err := sub.AddKeys(ctx, []string{"sensor.b"}); err != nil {
		log.Fatal(err)
	}
	u = <-sub.Updates()
	fmt.Println(u.Key, u.Value)
	if err := sub.RemoveKeys(ctx, []string{"sensor.a"}); err != nil {
		log.Fatal(err)
	}
	fmt.Println(sub.Keys())
	// Output:
	// sensor.a 1
	// sensor.b 2
	// [sensor.b]
}
