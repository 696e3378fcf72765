package store

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	"github.com/tokenhot/tokenhot/internal/billing"
)

// Prices are columns rather than a JSON blob so that they stay integers the
// database itself can check, sum and query. The per-size and per-resolution
// media prices, an open set of keys, are the exception: one JSON object,
// mediaPrices, in media_prices.
const modelCols = `name, status, input_rate, output_rate, cached_input_rate, cache_write_rate,
	reasoning_rate, per_request, per_image, per_second, media_prices, max_output_tokens, rpm, tpm, concurrent,
	updated_at`

func scanModel(r rowScanner) (Model, error) {
	var (
		m     Model
		media string
	)
	p := &m.Price
	err := r.Scan(&m.Name, &m.Status, &p.Input, &p.Output, &p.CachedInput, &p.CacheWrite,
		&p.Reasoning, &p.PerRequest, &p.PerImage, &p.PerSecond, &media, &m.MaxOutputTokens,
		&m.Limits.RPM, &m.Limits.TPM, &m.Limits.Concurrent, scanTime(&m.Updated))
	if err == nil {
		err = decodeMediaPrices(media, p)
	}
	return m, err
}

// mediaPrices is the JSON of the media_prices column, in Micros.
type mediaPrices struct {
	Images  map[string]billing.Micros `json:"images,omitempty"`
	Seconds map[string]billing.Micros `json:"seconds,omitempty"`
}

func encodeMediaPrices(p billing.Price) string {
	b, _ := json.Marshal(mediaPrices{Images: p.ImagePrices, Seconds: p.SecondPrices}) // maps of integers always marshal
	return string(b)
}

// decodeMediaPrices reads what encodeMediaPrices wrote into p; empty maps
// read back nil, as they were normalised on the way in.
func decodeMediaPrices(s string, p *billing.Price) error {
	var mp mediaPrices
	if err := json.Unmarshal([]byte(s), &mp); err != nil {
		return fmt.Errorf("store: corrupt media prices %q: %w", s, err)
	}
	p.ImagePrices, p.SecondPrices = mp.Images, mp.Seconds
	if len(p.ImagePrices) == 0 {
		p.ImagePrices = nil
	}
	if len(p.SecondPrices) == 0 {
		p.SecondPrices = nil
	}
	return nil
}

// cloneMicros copies a price map, so that the caller's map is not shared
// with what the store returns; empty is nil.
func cloneMicros(m map[string]billing.Micros) map[string]billing.Micros {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}

func validModelStatus(s string) bool {
	switch s {
	case ModelAvailable, ModelExperimental, ModelDeprecated, ModelOffline:
		return true
	}
	return false
}

// UpsertModel creates the model named m.Name or overwrites every field of
// it.
func (s *Store) UpsertModel(ctx context.Context, m Model) (Model, error) {
	m.Name = strings.TrimSpace(m.Name)
	p := m.Price
	priceErr := p.Validate()
	switch {
	case m.Name == "":
		return Model{}, fmt.Errorf("store: upsert model: %w: name is empty", ErrInvalid)
	case !validModelStatus(m.Status):
		return Model{}, fmt.Errorf("store: upsert model %q: %w: status %q", m.Name, ErrInvalid, m.Status)
	case priceErr != nil:
		return Model{}, fmt.Errorf("store: upsert model %q: %w: %w", m.Name, ErrInvalid, priceErr)
	case m.MaxOutputTokens < 0:
		return Model{}, fmt.Errorf("store: upsert model %q: %w: negative max output tokens", m.Name, ErrInvalid)
	}
	if err := m.Limits.check(); err != nil {
		return Model{}, fmt.Errorf("store: upsert model %q: %w", m.Name, err)
	}
	m.Updated = s.clock()
	m.Price.ImagePrices, m.Price.SecondPrices = cloneMicros(p.ImagePrices), cloneMicros(p.SecondPrices)
	_, err := s.w.ExecContext(ctx, `INSERT INTO models (`+modelCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
		ON CONFLICT (name) DO UPDATE SET status = excluded.status, input_rate = excluded.input_rate,
			output_rate = excluded.output_rate, cached_input_rate = excluded.cached_input_rate,
			cache_write_rate = excluded.cache_write_rate, reasoning_rate = excluded.reasoning_rate,
			per_request = excluded.per_request, per_image = excluded.per_image,
			per_second = excluded.per_second, media_prices = excluded.media_prices,
			max_output_tokens = excluded.max_output_tokens,
			rpm = excluded.rpm, tpm = excluded.tpm, concurrent = excluded.concurrent,
			updated_at = excluded.updated_at`,
		m.Name, m.Status, int64(p.Input), int64(p.Output), int64(p.CachedInput), int64(p.CacheWrite),
		int64(p.Reasoning), int64(p.PerRequest), int64(p.PerImage), int64(p.PerSecond), encodeMediaPrices(p),
		m.MaxOutputTokens, m.Limits.RPM, m.Limits.TPM, m.Limits.Concurrent, s.tv(m.Updated))
	if err != nil {
		return Model{}, fmt.Errorf("store: upsert model %q: %w", m.Name, err)
	}
	return m, nil
}

// GetModel returns a model by name.
func (s *Store) GetModel(ctx context.Context, name string) (Model, error) {
	m, err := scanModel(s.r.QueryRowContext(ctx, `SELECT `+modelCols+` FROM models WHERE name = $1`, name))
	return m, wrapGet(err, "model", name)
}

// ListModels returns every model, whatever its status, by name.
func (s *Store) ListModels(ctx context.Context) ([]Model, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+modelCols+` FROM models ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("store: list models: %w", err)
	}
	models, err := collect(rows, scanModel)
	if err != nil {
		return nil, fmt.Errorf("store: list models: %w", err)
	}
	return models, nil
}

// DeleteModel removes a model from the catalogue. Logs keep its name.
func (s *Store) DeleteModel(ctx context.Context, name string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM models WHERE name = $1`, name)
	if err == nil {
		err = oneRow(res)
	}
	if err != nil {
		return fmt.Errorf("store: delete model %q: %w", name, err)
	}
	return nil
}
