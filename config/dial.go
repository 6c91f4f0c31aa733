package config

import (
	"context"

	"github.com/badgateway/badgateway/remote"
)

// Dial opens the runner for h: this machine for localhost, else one SSH
// connection built from the inventory (keys, known_hosts, jump hosts).
func (c *Config) Dial(ctx context.Context, h Host, opts ...remote.Option) (remote.Runner, error) {
	if h.Local {
		return remote.NewLocal(), nil
	}
	hc, err := c.SSHHost(h)
	if err != nil {
		return nil, err
	}
	return remote.DialSSH(ctx, hc, opts...)
}
