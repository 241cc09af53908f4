package iofs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"
)

// FaultPath is the control's one resource: GET reads the State, PUT sets a
// fault (a SetRequest), DELETE clears it.
const FaultPath = "/v1/fault"

// SetRequest is the body of PUT FaultPath.
type SetRequest struct {
	Fault Spec `json:"fault"`
	// Deadline is how long the fault stays without a new set, as a Go
	// duration ("60s"). Required: the dead man's switch.
	Deadline string `json:"deadline"`
	// Reason is recorded with the change (who asked, why).
	Reason string `json:"reason,omitempty"`
}

// errorBody is the body of every failed request.
type errorBody struct {
	Error string `json:"error"`
}

// maxBody bounds a request body.
const maxBody = 1 << 16

// Handler serves ctl's FaultPath.
func Handler(ctl *Control, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+FaultPath, func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusOK, ctl.State())
	})
	mux.HandleFunc("PUT "+FaultPath, func(w http.ResponseWriter, r *http.Request) {
		var req SetRequest
		dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			reply(w, http.StatusBadRequest, errorBody{"decoding set request: " + err.Error()})
			return
		}
		ttl, err := time.ParseDuration(req.Deadline)
		if err != nil {
			reply(w, http.StatusBadRequest, errorBody{fmt.Sprintf("set request: deadline %q: every set needs a deadline, e.g. \"60s\"", req.Deadline)})
			return
		}
		if _, err := ctl.Set(req.Fault, ttl, req.Reason); err != nil {
			reply(w, http.StatusBadRequest, errorBody{err.Error()})
			return
		}
		log.InfoContext(r.Context(), "storage fault set", "fault", req.Fault.String(), "deadline", ttl, "reason", req.Reason)
		reply(w, http.StatusOK, ctl.State())
	})
	mux.HandleFunc("DELETE "+FaultPath, func(w http.ResponseWriter, r *http.Request) {
		reason := r.URL.Query().Get("reason")
		ctl.Clear(reason)
		log.InfoContext(r.Context(), "storage fault cleared", "reason", reason)
		reply(w, http.StatusOK, ctl.State())
	})
	return mux
}

func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// Listen listens on the unix socket at path (mode 0600). A stale socket
// left by a dead server is replaced; a live one is an error.
func Listen(path string) (net.Listener, error) {
	if st, err := os.Lstat(path); err == nil {
		if st.Mode().Type() != os.ModeSocket {
			return nil, fmt.Errorf("control socket %s: exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			_ = c.Close()
			return nil, fmt.Errorf("control socket %s: another server is listening on it", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("removing stale control socket %s: %w", path, err)
		}
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		_ = l.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	return l, nil
}

// Serve serves ctl over HTTP on l until ctx is done, then closes l (which
// removes a unix socket's file). It does not clear the fault: the caller
// decides (Control.Close).
func Serve(ctx context.Context, l net.Listener, ctl *Control, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	srv := &http.Server{Handler: Handler(ctl, log), ReadHeaderTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case err := <-done:
		return fmt.Errorf("serving storage-fault control on %s: %w", l.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("stopping storage-fault control on %s: %w", l.Addr(), err)
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving storage-fault control on %s: %w", l.Addr(), err)
	}
	return nil
}
