package iofs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// clientTimeout bounds one request to the control.
const clientTimeout = 10 * time.Second

// Client talks to a control served by Serve on a unix socket.
type Client struct {
	socket string
	hc     *http.Client
}

// NewClient returns a client of the control at the unix socket path.
func NewClient(socket string) *Client {
	var d net.Dialer
	return &Client{socket: socket, hc: &http.Client{
		Timeout: clientTimeout,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", socket)
		}},
	}}
}

// Set puts spec in force for ttl (the dead man's switch clears it after).
func (c *Client) Set(ctx context.Context, spec Spec, ttl time.Duration, reason string) (State, error) {
	body, err := json.Marshal(SetRequest{Fault: spec, Deadline: ttl.String(), Reason: reason})
	if err != nil {
		return State{}, fmt.Errorf("encoding set request for %s: %w", c.socket, err)
	}
	return c.do(ctx, http.MethodPut, FaultPath, body)
}

// Clear removes the fault.
func (c *Client) Clear(ctx context.Context, reason string) (State, error) {
	return c.do(ctx, http.MethodDelete, FaultPath+"?reason="+url.QueryEscape(reason), nil)
}

// State reads the fault in force and every change so far.
func (c *Client) State(ctx context.Context) (State, error) {
	return c.do(ctx, http.MethodGet, FaultPath, nil)
}

func (c *Client) do(ctx context.Context, method, path string, body []byte) (State, error) {
	req, err := http.NewRequestWithContext(ctx, method, "http://iofs"+path, bytes.NewReader(body))
	if err != nil {
		return State{}, fmt.Errorf("storage-fault control %s: %w", c.socket, err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the method and the dummy URL say nothing
		}
		return State{}, fmt.Errorf("storage-fault control %s: %w", c.socket, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return State{}, fmt.Errorf("storage-fault control %s: reading reply: %w", c.socket, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e errorBody
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return State{}, fmt.Errorf("storage-fault control %s: %s", c.socket, e.Error)
		}
		return State{}, fmt.Errorf("storage-fault control %s: %s", c.socket, resp.Status)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return State{}, fmt.Errorf("storage-fault control %s: decoding reply: %w", c.socket, err)
	}
	return st, nil
}
