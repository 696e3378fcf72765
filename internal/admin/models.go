package admin

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/tokenhot/tokenhot/internal/billing"
	"github.com/tokenhot/tokenhot/internal/store"
)

// Model names may hold slashes ("meta-llama/Llama-3.3-70B"), so the name is
// the rest of the path.
func (a *API) routeModels() {
	a.handle("GET /admin/v1/models", a.listModels)
	a.handle("GET /admin/v1/models/{name...}", a.getModel)
	a.handle("PUT /admin/v1/models/{name...}", a.putModel)
	a.handle("DELETE /admin/v1/models/{name...}", a.deleteModel)
}

// Model is a catalogue entry as the API shows it.
type Model struct {
	Name            string `json:"name"`
	Status          string `json:"status"`
	Price           Price  `json:"price"`
	MaxOutputTokens int64  `json:"max_output_tokens,omitempty"`
	// Limits cap all requests for the model together.
	Limits  RateLimits `json:"limits"`
	Updated time.Time  `json:"updated_at"`
}

// Price is USD per 1M tokens, and USD for per_request, per_image and
// per_second. Absent optional rates fall back as billing.Price documents
// (cached_input and cache_write to input, reasoning to output; an image
// size or video resolution absent from images or seconds to per_image or
// per_second).
type Price struct {
	Input       string `json:"input"`
	Output      string `json:"output"`
	CachedInput string `json:"cached_input,omitempty"`
	CacheWrite  string `json:"cache_write,omitempty"`
	Reasoning   string `json:"reasoning,omitempty"`
	PerRequest  string `json:"per_request,omitempty"`
	// PerImage is USD per generated image; Images, keyed by "<size>" or
	// "<size>/<quality>", override it.
	PerImage string            `json:"per_image,omitempty"`
	Images   map[string]string `json:"images,omitempty"`
	// PerSecond is USD per second of generated video; Seconds, keyed by
	// resolution ("720p"), override it.
	PerSecond string            `json:"per_second,omitempty"`
	Seconds   map[string]string `json:"seconds,omitempty"`
}

func viewModel(m store.Model) Model {
	opt := func(v billing.Micros) string {
		if v == 0 {
			return ""
		}
		return v.USD()
	}
	p := m.Price
	return Model{Name: m.Name, Status: m.Status, MaxOutputTokens: m.MaxOutputTokens, Updated: m.Updated,
		Limits: viewRate(m.Limits),
		Price: Price{Input: p.Input.USD(), Output: p.Output.USD(), CachedInput: opt(billing.Micros(p.CachedInput)),
			CacheWrite: opt(billing.Micros(p.CacheWrite)), Reasoning: opt(billing.Micros(p.Reasoning)), PerRequest: opt(p.PerRequest),
			PerImage: opt(p.PerImage), Images: viewPrices(p.ImagePrices),
			PerSecond: opt(p.PerSecond), Seconds: viewPrices(p.SecondPrices)}}
}

// viewPrices shows a media price map as USD strings; a 0 entry stays, as
// it makes that size or resolution free rather than unset.
func viewPrices(m map[string]billing.Micros) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v.USD()
	}
	return out
}

// parsePrices reads a media price map of USD strings.
func parsePrices(field string, in map[string]string) (map[string]billing.Micros, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make(map[string]billing.Micros, len(in))
	for k, s := range in {
		v, err := optUSD(fmt.Sprintf("%s[%q]", field, k), &s)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

func (a *API) listModels(w http.ResponseWriter, r *http.Request) error {
	if _, err := query(r); err != nil {
		return err
	}
	ms, err := a.st.ListModels(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listOf(ms, viewModel))
	return nil
}

func modelName(r *http.Request) (string, error) {
	name := r.PathValue("name")
	if err := checkName("model name", name, 200); err != nil {
		return "", err
	}
	if strings.IndexFunc(name, unicode.IsSpace) >= 0 {
		return "", invalid("model name %q contains whitespace", name)
	}
	return name, nil
}

// model loads the model named by the {name} wildcard.
func (a *API) model(r *http.Request) (store.Model, error) {
	name, err := modelName(r)
	if err != nil {
		return store.Model{}, err
	}
	m, err := a.st.GetModel(r.Context(), name)
	if errors.Is(err, store.ErrNotFound) {
		return m, notFound("model %q not found", name)
	}
	return m, err
}

func (a *API) getModel(w http.ResponseWriter, r *http.Request) error {
	m, err := a.model(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewModel(m))
	return nil
}

// ModelRequest is the body of PUT /admin/v1/models/{name}.
type ModelRequest struct {
	Status          string      `json:"status,omitempty"` // default "available"
	Price           *Price      `json:"price"`
	MaxOutputTokens int64       `json:"max_output_tokens,omitempty"`
	Limits          *RateLimits `json:"limits,omitempty"` // absent: none
}

// model validates the request. Optional rates left empty are unset.
func (b *ModelRequest) model(name string) (store.Model, error) {
	m := store.Model{Name: name, Status: b.Status, MaxOutputTokens: b.MaxOutputTokens}
	switch m.Status {
	case "":
		m.Status = store.ModelAvailable
	case store.ModelAvailable, store.ModelExperimental, store.ModelDeprecated, store.ModelOffline:
	default:
		return m, invalid("status must be available, experimental, deprecated or offline")
	}
	if m.MaxOutputTokens < 0 {
		return m, invalid("max_output_tokens cannot be negative")
	}
	if b.Limits != nil {
		var err error
		if m.Limits, err = rate("limits", *b.Limits); err != nil {
			return m, err
		}
	}
	p := b.Price
	if p == nil {
		return m, invalid("price is required: {\"input\": \"2.5\", \"output\": \"10\"} in USD per 1M tokens")
	}
	if p.Input == "" || p.Output == "" {
		return m, invalid("price.input and price.output are required (USD per 1M tokens; \"0\" for free)")
	}
	// A Rate is Micros per 1M tokens, so both parse as USD.
	for _, f := range []struct {
		field string
		in    string
		out   *billing.Micros
	}{
		{"price.input", p.Input, (*billing.Micros)(&m.Price.Input)},
		{"price.output", p.Output, (*billing.Micros)(&m.Price.Output)},
		{"price.cached_input", p.CachedInput, (*billing.Micros)(&m.Price.CachedInput)},
		{"price.cache_write", p.CacheWrite, (*billing.Micros)(&m.Price.CacheWrite)},
		{"price.reasoning", p.Reasoning, (*billing.Micros)(&m.Price.Reasoning)},
		{"price.per_request", p.PerRequest, &m.Price.PerRequest},
		{"price.per_image", p.PerImage, &m.Price.PerImage},
		{"price.per_second", p.PerSecond, &m.Price.PerSecond},
	} {
		if f.in == "" {
			continue
		}
		v, err := optUSD(f.field, &f.in)
		if err != nil {
			return m, err
		}
		*f.out = v
	}
	var err error
	if m.Price.ImagePrices, err = parsePrices("price.images", p.Images); err != nil {
		return m, err
	}
	if m.Price.SecondPrices, err = parsePrices("price.seconds", p.Seconds); err != nil {
		return m, err
	}
	// The keys; the amounts were checked above.
	if err := m.Price.Validate(); err != nil {
		return m, invalid("%v", err)
	}
	return m, nil
}

// putModel creates or replaces a model: fields left out take their
// defaults, not their old values.
func (a *API) putModel(w http.ResponseWriter, r *http.Request) error {
	name, err := modelName(r)
	if err != nil {
		return err
	}
	var body ModelRequest
	if err := decode(r, &body); err != nil {
		return err
	}
	m, err := body.model(name)
	if err != nil {
		return err
	}
	_, err = a.st.GetModel(r.Context(), name)
	created := errors.Is(err, store.ErrNotFound)
	if err != nil && !created {
		return err
	}
	m, err = a.st.UpsertModel(r.Context(), m)
	if err != nil {
		return err
	}
	if err := a.changed(r, "model set", "model", name, "created", created); err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, viewModel(m))
	return nil
}

func (a *API) deleteModel(w http.ResponseWriter, r *http.Request) error {
	name, err := modelName(r)
	if err != nil {
		return err
	}
	if err := a.st.DeleteModel(r.Context(), name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("model %q not found", name)
		}
		return err
	}
	if err := a.changed(r, "model deleted", "model", name); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
