package discordbot

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

// HTTP interactions: Discord signs each POST with the application's Ed25519
// key; the bot answers in the HTTP response and follows up through the REST API.
func TestHTTPInteractions(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, _ := ed25519.GenerateKey(nil)
	e := newEnv(t, envOptions{publicKey: hex.EncodeToString(pub), fleet: 1})
	srv := httptest.NewServer(e.a.Handler())
	defer srv.Close()

	post := func(body []byte, key ed25519.PrivateKey, at time.Time) (int, map[string]any) {
		t.Helper()
		ts := strconv.FormatInt(at.Unix(), 10)
		req, _ := http.NewRequest("POST", srv.URL+InteractionsPath, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if key != nil {
			req.Header.Set("X-Signature-Timestamp", ts)
			req.Header.Set("X-Signature-Ed25519", hex.EncodeToString(ed25519.Sign(key, append([]byte(ts), body...))))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		var out map[string]any
		if resp.StatusCode == 200 {
			if resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("content type %q", resp.Header.Get("Content-Type"))
			}
			if err := json.Unmarshal(data, &out); err != nil {
				t.Fatalf("response %q: %v", data, err)
			}
		}
		return resp.StatusCode, out
	}
	ping := []byte(`{"id":"700000000000000001","application_id":"` + e.app.id + `","type":1,"token":"pingtoken","version":1}`)

	t.Run("PING is answered with PONG", func(t *testing.T) {
		status, body := post(ping, priv, time.Now())
		if status != 200 || len(body) != 1 || body["type"] != 1.0 {
			t.Errorf("got %d %v, want 200 {\"type\":1}", status, body)
		}
	})

	t.Run("bad signatures and stale timestamps are refused with 401", func(t *testing.T) {
		now := time.Now()
		cases := []struct {
			name string
			body []byte
			key  ed25519.PrivateKey
			at   time.Time
			want int
		}{
			{"signed by another key", ping, otherKey, now, 401},
			{"no signature", ping, nil, now, 401},
			{"six minutes old", ping, priv, now.Add(-6 * time.Minute), 401},
			{"six minutes ahead", ping, priv, now.Add(6 * time.Minute), 401},
			{"four minutes old is still fine", ping, priv, now.Add(-4 * time.Minute), 200},
		}
		for _, tc := range cases {
			if status, _ := post(tc.body, tc.key, tc.at); status != tc.want {
				t.Errorf("%s: %d, want %d", tc.name, status, tc.want)
			}
		}
		// A body changed after signing.
		ts := strconv.FormatInt(now.Unix(), 10)
		req, _ := http.NewRequest("POST", srv.URL+InteractionsPath, bytes.NewReader(bytes.Replace(ping, []byte(`"type":1`), []byte(`"type":2`), 1)))
		req.Header.Set("X-Signature-Timestamp", ts)
		req.Header.Set("X-Signature-Ed25519", hex.EncodeToString(ed25519.Sign(priv, append([]byte(ts), ping...))))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("tampered body: %d, want 401", resp.StatusCode)
		}
	})

	t.Run("a command is deferred in the response and answered through the REST API", func(t *testing.T) {
		fi, payload := e.app.interact(2, alice, nil, chanOps, "zh-CN", commandData(map[string]string{"host": "localhost"}, ""))
		body, _ := json.Marshal(payload)
		status, resp := post(body, priv, time.Now())
		if status != 200 || resp["type"] != 5.0 || resp["data"] != nil {
			t.Fatalf("got %d %v, want a public deferral {\"type\":5}", status, resp)
		}
		fi.markAcked(5, 0) // as Discord does on receiving the response
		calls := e.app.waitFor(t, "the answer", func(cs []call) bool {
			return slices.ContainsFunc(callsFor(cs, fi.token), func(c call) bool { return c.Route == "edit" && c.Status == 200 && len(c.Msg.Embeds) > 0 })
		})
		mine := callsFor(calls, fi.token)
		ok := slices.IndexFunc(mine, func(c call) bool { return c.Status == 200 })
		if ok < 0 || !strings.HasPrefix(mine[ok].Msg.content(), "🔎 正在诊断 localhost…") {
			t.Errorf("the first edit shows the status in the requester's language:\n%s", dump(mine))
		}
		final := mine[len(mine)-1]
		if emb := final.Msg.Embeds[0]; emb.Author == nil || !strings.HasPrefix(emb.Author.Name, "localhost 的 502 诊断") {
			t.Errorf("answer: %+v", emb)
		}
	})

	t.Run("a refused command is deferred privately", func(t *testing.T) {
		fi, payload := e.app.interact(2, bob, nil, chanOps, "en-US", commandData(map[string]string{"host": "localhost"}, ""))
		body, _ := json.Marshal(payload)
		status, resp := post(body, priv, time.Now())
		data, _ := resp["data"].(map[string]any)
		if status != 200 || resp["type"] != 5.0 || data["flags"] != 64.0 {
			t.Fatalf("got %d %v, want an ephemeral deferral", status, resp)
		}
		fi.markAcked(5, 64)
		calls := e.app.waitFor(t, "the refusal", func(cs []call) bool {
			return slices.ContainsFunc(callsFor(cs, fi.token), func(c call) bool { return c.Route == "edit" && c.Status == 200 })
		})
		if got := callsFor(calls, fi.token); !strings.Contains(got[len(got)-1].Msg.content(), "You may not diagnose localhost") {
			t.Errorf("refusal:\n%s", dump(got))
		}
	})

	t.Run("a thread's rules come from the channel sent with the interaction", func(t *testing.T) {
		const thread = "450000000000000009"
		fi, payload := e.app.interact(2, bob, nil, thread, "en-US", commandData(map[string]string{"host": "fleet-001"}, ""))
		payload["channel"] = map[string]any{"id": thread, "type": 11, "parent_id": chanFleet, "guild_id": "555555555555555555"}
		body, _ := json.Marshal(payload)
		status, resp := post(body, priv, time.Now())
		if status != 200 || resp["type"] != 5.0 || resp["data"] != nil {
			t.Fatalf("got %d %v, want a public deferral: the thread is in the fleet channel", status, resp)
		}
		fi.markAcked(5, 0)
		calls := e.app.waitFor(t, "the answer", func(cs []call) bool {
			return slices.ContainsFunc(callsFor(cs, fi.token), func(c call) bool { return c.Route == "edit" && len(c.Msg.Embeds) > 0 })
		})
		if slices.ContainsFunc(calls, func(c call) bool { return c.Route == "channel" && c.Channel == thread }) {
			t.Error("looked the thread up although the interaction said where it is")
		}
	})

	t.Run("autocomplete is answered in the response", func(t *testing.T) {
		_, payload := e.app.interact(4, carol, []string{webRole}, chanOps, "en-US", commandData(map[string]string{"host": "web-0"}, "host"))
		body, _ := json.Marshal(payload)
		status, resp := post(body, priv, time.Now())
		data, _ := resp["data"].(map[string]any)
		choices, _ := data["choices"].([]any)
		if status != 200 || resp["type"] != 8.0 || len(choices) != 2 {
			t.Errorf("got %d %v", status, resp)
		}
	})
}

func TestHTTPWithoutPublicKeyIsUnavailable(t *testing.T) {
	e := newEnv(t, envOptions{})
	srv := httptest.NewServer(e.a.Handler())
	defer srv.Close()
	resp, err := http.Post(srv.URL+InteractionsPath, "application/json", strings.NewReader(`{"type":1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", resp.StatusCode)
	}
}

func decodeInteraction(t *testing.T, payload map[string]any) *discordgo.Interaction {
	t.Helper()
	data, _ := json.Marshal(payload)
	var i discordgo.Interaction
	if err := json.Unmarshal(data, &i); err != nil {
		t.Fatal(err)
	}
	return &i
}
