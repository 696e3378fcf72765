package store

import (
	"context"
	"fmt"
	"maps"
	"strings"
)

const channelCols = `id, name, type, base_url, keys_sealed, models, model_map, priority, weight, enabled,
	rpm, tpm, concurrent, updated_at`

// channelWriteCols are the columns a write binds, in channelArgs order.
const channelWriteCols = `name, type, base_url, keys_sealed, models, model_map, priority, weight, enabled,
	rpm, tpm, concurrent, updated_at`

func (s *Store) scanChannel(r rowScanner) (Channel, error) {
	var (
		c                     Channel
		sealed, models, remap string
	)
	err := r.Scan(&c.ID, &c.Name, &c.Type, &c.BaseURL, &sealed, &models, &remap,
		&c.Priority, &c.Weight, &c.Enabled, &c.Limits.RPM, &c.Limits.TPM, &c.Limits.Concurrent, scanTime(&c.Updated))
	if err != nil {
		return Channel{}, err
	}
	// The keys are sealed as one JSON array, so a read costs one Open
	// however many keys the channel has.
	plain, err := s.box.Open(sealed)
	if err != nil {
		return Channel{}, fmt.Errorf("store: channel %q keys: %w", c.Name, err)
	}
	if c.Keys, err = decodeList(plain); err != nil {
		return Channel{}, fmt.Errorf("store: channel %q keys: %w", c.Name, err)
	}
	if c.Models, err = decodeList(models); err != nil {
		return Channel{}, err
	}
	if c.ModelMap, err = decodeMap(remap); err != nil {
		return Channel{}, err
	}
	return c, nil
}

// channelRow is a validated channel in its stored form.
type channelRow struct {
	c                     Channel // normalised, as it will read back
	sealed, models, remap string
}

func (s *Store) channelRow(c Channel) (channelRow, error) {
	c.Name = strings.TrimSpace(c.Name)
	switch {
	case c.Name == "":
		return channelRow{}, fmt.Errorf("%w: channel name is empty", ErrInvalid)
	case strings.TrimSpace(c.Type) == "":
		return channelRow{}, fmt.Errorf("%w: channel %q has no type", ErrInvalid, c.Name)
	case c.Weight < 0:
		return channelRow{}, fmt.Errorf("%w: channel %q has a negative weight", ErrInvalid, c.Name)
	}
	if err := c.Limits.check(); err != nil {
		return channelRow{}, fmt.Errorf("channel %q: %w", c.Name, err)
	}
	c.Keys = cloneList(c.Keys)
	c.Models = cloneList(c.Models)
	c.ModelMap = maps.Clone(c.ModelMap)
	if len(c.ModelMap) == 0 {
		c.ModelMap = nil
	}
	c.Updated = s.clock()
	return channelRow{
		c:      c,
		sealed: s.box.Seal(encodeList(c.Keys)),
		models: encodeList(c.Models),
		remap:  encodeMap(c.ModelMap),
	}, nil
}

// channelArgs are the bind values of channelWriteCols, in order.
func (s *Store) channelArgs(r channelRow) []any {
	c := r.c
	return []any{c.Name, c.Type, c.BaseURL, r.sealed, r.models, r.remap, c.Priority, c.Weight, c.Enabled,
		c.Limits.RPM, c.Limits.TPM, c.Limits.Concurrent, s.tv(c.Updated)}
}

// channelValues is the VALUES list of channelWriteCols.
const channelValues = `VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`

// CreateChannel adds a channel; its name must be new.
func (s *Store) CreateChannel(ctx context.Context, c Channel) (Channel, error) {
	r, err := s.channelRow(c)
	if err != nil {
		return Channel{}, fmt.Errorf("store: create channel: %w", err)
	}
	err = s.w.QueryRowContext(ctx, `INSERT INTO channels (`+channelWriteCols+`) `+channelValues+` RETURNING id`,
		s.channelArgs(r)...).Scan(&r.c.ID)
	if isUniqueViolation(err) {
		err = ErrConflict
	}
	if err != nil {
		return Channel{}, fmt.Errorf("store: create channel %q: %w", r.c.Name, err)
	}
	return r.c, nil
}

// UpsertChannel creates the channel named c.Name, or overwrites every field
// of the existing one (c.ID is ignored). It is how a configuration file is
// applied.
func (s *Store) UpsertChannel(ctx context.Context, c Channel) (Channel, error) {
	r, err := s.channelRow(c)
	if err != nil {
		return Channel{}, fmt.Errorf("store: upsert channel: %w", err)
	}
	err = s.w.QueryRowContext(ctx, `INSERT INTO channels (`+channelWriteCols+`) `+channelValues+`
		ON CONFLICT (name) DO UPDATE SET type = excluded.type, base_url = excluded.base_url,
			keys_sealed = excluded.keys_sealed, models = excluded.models, model_map = excluded.model_map,
			priority = excluded.priority, weight = excluded.weight, enabled = excluded.enabled,
			rpm = excluded.rpm, tpm = excluded.tpm, concurrent = excluded.concurrent,
			updated_at = excluded.updated_at
		RETURNING id`, s.channelArgs(r)...).Scan(&r.c.ID)
	if err != nil {
		return Channel{}, fmt.Errorf("store: upsert channel %q: %w", r.c.Name, err)
	}
	return r.c, nil
}

// UpdateChannel overwrites every field of the channel c.ID, name included.
func (s *Store) UpdateChannel(ctx context.Context, c Channel) error {
	r, err := s.channelRow(c)
	if err != nil {
		return fmt.Errorf("store: update channel %d: %w", c.ID, err)
	}
	res, err := s.w.ExecContext(ctx, `UPDATE channels SET name = $1, type = $2, base_url = $3,
		keys_sealed = $4, models = $5, model_map = $6, priority = $7, weight = $8, enabled = $9,
		rpm = $10, tpm = $11, concurrent = $12, updated_at = $13 WHERE id = $14`, append(s.channelArgs(r), c.ID)...)
	if isUniqueViolation(err) {
		err = ErrConflict
	}
	if err == nil {
		err = oneRow(res)
	}
	if err != nil {
		return fmt.Errorf("store: update channel %d: %w", c.ID, err)
	}
	return nil
}

// SetChannelEnabled turns a channel on or off without touching the rest.
func (s *Store) SetChannelEnabled(ctx context.Context, id int64, enabled bool) error {
	res, err := s.w.ExecContext(ctx, `UPDATE channels SET enabled = $1, updated_at = $2 WHERE id = $3`,
		enabled, s.tv(s.clock()), id)
	if err == nil {
		err = oneRow(res)
	}
	if err != nil {
		return fmt.Errorf("store: enable channel %d: %w", id, err)
	}
	return nil
}

// GetChannel returns a channel with its keys opened.
func (s *Store) GetChannel(ctx context.Context, id int64) (Channel, error) {
	c, err := s.scanChannel(s.r.QueryRowContext(ctx, `SELECT `+channelCols+` FROM channels WHERE id = $1`, id))
	return c, wrapGet(err, "channel", id)
}

// GetChannelByName returns a channel by name, with its keys opened.
func (s *Store) GetChannelByName(ctx context.Context, name string) (Channel, error) {
	name = strings.TrimSpace(name)
	c, err := s.scanChannel(s.r.QueryRowContext(ctx, `SELECT `+channelCols+` FROM channels WHERE name = $1`, name))
	return c, wrapGet(err, "channel", name)
}

// ListChannels returns every channel, enabled or not, by id.
func (s *Store) ListChannels(ctx context.Context) ([]Channel, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+channelCols+` FROM channels ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: list channels: %w", err)
	}
	chans, err := collect(rows, s.scanChannel)
	if err != nil {
		return nil, fmt.Errorf("store: list channels: %w", err)
	}
	return chans, nil
}

// DeleteChannel removes a channel. Request logs keep its id.
func (s *Store) DeleteChannel(ctx context.Context, id int64) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM channels WHERE id = $1`, id)
	if err == nil {
		err = oneRow(res)
	}
	if err != nil {
		return fmt.Errorf("store: delete channel %d: %w", id, err)
	}
	return nil
}
