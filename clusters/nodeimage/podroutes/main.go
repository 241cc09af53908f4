package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

const (
	saDir        = "/var/run/secrets/kubernetes.io/serviceaccount"
	confName     = "10-pgchaos.conflist"
	syncInterval = 10 * time.Second
)

// config is what the daemon reads from its environment.
type config struct {
	nodeName string // NODE_NAME (downward API)
	endpoint string // CONTROL_PLANE_ENDPOINT host:port, else the in-cluster service
	confDir  string // CNI_CONF_DIR, default /etc/cni/net.d
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	cfg := config{
		nodeName: os.Getenv("NODE_NAME"),
		endpoint: os.Getenv("CONTROL_PLANE_ENDPOINT"),
		confDir:  os.Getenv("CNI_CONF_DIR"),
	}
	if cfg.endpoint == "" {
		cfg.endpoint = net.JoinHostPort(os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT"))
	}
	if cfg.confDir == "" {
		cfg.confDir = "/etc/cni/net.d"
	}
	if err := run(ctx, log, cfg); err != nil {
		log.Error("pgchaos-podroutes stopped", "err", err)
		os.Exit(1)
	}
}

// run syncs until ctx ends; each sync is bounded by a timeout.
func run(ctx context.Context, log *slog.Logger, cfg config) error {
	if cfg.nodeName == "" {
		return fmt.Errorf("NODE_NAME is not set")
	}
	client, err := newAPIClient()
	if err != nil {
		return err
	}
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644); err != nil {
		return fmt.Errorf("enabling ip_forward: %w", err)
	}
	t := time.NewTicker(syncInterval)
	defer t.Stop()
	for {
		sctx, cancel := context.WithTimeout(ctx, syncInterval)
		if err := syncOnce(sctx, log, client, cfg); err != nil {
			log.Warn("sync failed", "err", err)
		}
		cancel()
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// node is the part of a v1.Node the daemon needs.
type node struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		PodCIDR string `json:"podCIDR"`
	} `json:"spec"`
	Status struct {
		Addresses []struct {
			Type    string `json:"type"`
			Address string `json:"address"`
		} `json:"addresses"`
	} `json:"status"`
}

func (n node) internalIP() net.IP {
	for _, a := range n.Status.Addresses {
		if a.Type == "InternalIP" {
			if ip := net.ParseIP(a.Address); ip != nil && ip.To4() != nil {
				return ip
			}
		}
	}
	return nil
}

func syncOnce(ctx context.Context, log *slog.Logger, c *apiClient, cfg config) error {
	var list struct {
		Items []node `json:"items"`
	}
	if err := c.get(ctx, "https://"+cfg.endpoint+"/api/v1/nodes", &list); err != nil {
		return err
	}
	for _, n := range list.Items {
		if n.Spec.PodCIDR == "" {
			continue
		}
		_, cidr, err := net.ParseCIDR(n.Spec.PodCIDR)
		if err != nil || cidr.IP.To4() == nil {
			continue
		}
		if n.Metadata.Name == cfg.nodeName {
			changed, err := writeConf(cfg.confDir, cidr)
			if err != nil {
				return err
			}
			if changed {
				log.Info("wrote CNI config", "node", n.Metadata.Name, "podCIDR", cidr.String())
			}
			continue
		}
		gw := n.internalIP()
		if gw == nil {
			continue
		}
		if err := replaceRoute(cidr, gw); err != nil {
			return fmt.Errorf("route %s via %s (node %s): %w", cidr, gw, n.Metadata.Name, err)
		}
	}
	return nil
}

// writeConf writes the node's CNI conflist when its content differs.
func writeConf(dir string, cidr *net.IPNet) (bool, error) {
	conf := map[string]any{
		"cniVersion": "0.4.0",
		"name":       "pgchaos",
		"plugins": []any{
			map[string]any{
				"type": "ptp",
				"mtu":  1500,
				"ipam": map[string]any{
					"type":   "host-local",
					"ranges": [][]map[string]string{{{"subnet": cidr.String()}}},
					"routes": []map[string]string{{"dst": "0.0.0.0/0"}},
				},
			},
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
		},
	}
	data, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return false, fmt.Errorf("encoding CNI config: %w", err)
	}
	path := filepath.Join(dir, confName)
	if old, err := os.ReadFile(path); err == nil && string(old) == string(data) {
		return false, nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return false, fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return false, fmt.Errorf("renaming %s: %w", tmp, err)
	}
	return true, nil
}

// apiClient talks to the API server with the pod's service account.
type apiClient struct {
	http  *http.Client
	token string
}

func newAPIClient() (*apiClient, error) {
	token, err := os.ReadFile(filepath.Join(saDir, "token"))
	if err != nil {
		return nil, fmt.Errorf("reading service account token: %w", err)
	}
	ca, err := os.ReadFile(filepath.Join(saDir, "ca.crt"))
	if err != nil {
		return nil, fmt.Errorf("reading service account CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("no certificate in %s/ca.crt", saDir)
	}
	return &apiClient{
		http: &http.Client{
			Timeout:   syncInterval,
			Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		},
		token: string(token),
	}, nil
}

func (c *apiClient) get(ctx context.Context, url string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("request %s: %w", url, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		return fmt.Errorf("decoding %s: %w", url, err)
	}
	return nil
}
