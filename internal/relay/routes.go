package relay

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/tokenhot/tokenhot/internal/catalog"
	"github.com/tokenhot/tokenhot/internal/llm"
	"github.com/tokenhot/tokenhot/internal/protocol/gemini"
)

// Register adds the relay's routes to mux, each with and without a trailing
// slash.
func (rl *Relay) Register(mux *http.ServeMux) {
	post := func(path string, h http.HandlerFunc) {
		mux.HandleFunc("POST "+path, h)
		mux.HandleFunc("POST "+path+"/", h)
	}
	post("/v1/chat/completions", rl.handler(protoChat))
	post("/v1/responses", rl.handler(protoResponses))
	post("/v1/messages", rl.handler(protoAnthropic))
	post("/v1/embeddings", rl.handler(protoEmbeddings))
	post("/v1/messages/count_tokens", rl.countTokens(protoAnthropic))
	post("/v1/images/generations", rl.imagesHandler(false))
	post("/v1/images/edits", rl.imagesHandler(true))
	post("/v1/videos", rl.videosCreate(false))
	post("/v1/video/generations", rl.videosCreate(true))
	mux.HandleFunc("GET /v1/videos/{id}", rl.videosGet(false))
	mux.HandleFunc("GET /v1/video/generations/{id}", rl.videosGet(true))
	mux.HandleFunc("GET /v1/videos/{id}/content", rl.videosContent)
	mux.HandleFunc("GET /v1/video/generations/{id}/content", rl.videosContent)
	mux.HandleFunc("POST /v1beta/models/{call}", rl.geminiCall)
	mux.HandleFunc("POST /v1beta/models/{call}/", rl.geminiCall)

	for _, p := range []string{"/v1/models", "/v1/models/"} {
		mux.HandleFunc("GET "+p, rl.listModels)
	}
	mux.HandleFunc("GET /v1/models/{model}", rl.getModel)
	for _, p := range []string{"/v1beta/models", "/v1beta/models/"} {
		mux.HandleFunc("GET "+p, rl.listGeminiModels)
	}
	mux.HandleFunc("GET /v1beta/models/{model}", rl.getGeminiModel)
}

// geminiCall dispatches "/v1beta/models/{model}:{method}".
func (rl *Relay) geminiCall(w http.ResponseWriter, r *http.Request) {
	model, method, ok := gemini.ParsePath(r.PathValue("call"))
	switch {
	case ok && method == "generateContent":
		rl.exchange(w, r, protoGemini, model, false)
	case ok && method == "streamGenerateContent":
		rl.exchange(w, r, protoGemini, model, true)
	case ok && method == "countTokens":
		rl.countGemini(w, r, model)
	default:
		id := newRequestID()
		w.Header().Set("X-Request-Id", id)
		writeError(w, gemini.ErrorBody, llm.Errorf(llm.KindNotFound, "not_found",
			"unknown method; use :generateContent, :streamGenerateContent or :countTokens"), id)
	}
}

// keyed authenticates a request that needs no body (the model routes),
// writing the error itself, in protocol in's shape, when it fails.
func (rl *Relay) keyed(w http.ResponseWriter, r *http.Request, in proto) (*catalog.Snapshot, *catalog.Key, string, bool) {
	id := newRequestID()
	w.Header().Set("X-Request-Id", id)
	snap := rl.cat.Current()
	k, e := rl.authenticate(wires[in].key(r), snap, rl.clientIP(r))
	if e != nil {
		writeError(w, wires[in].errorBody, e, id)
		return nil, nil, id, false
	}
	return snap, k, id, true
}

// isAnthropic tells an Anthropic SDK's GET /v1/models from an OpenAI one:
// the Anthropic SDKs always send anthropic-version.
func isAnthropic(r *http.Request) bool {
	return r.Header.Get("Anthropic-Version") != "" || r.Header.Get("X-Api-Key") != "" && bearer(r) == ""
}

// visible lists the models k may see.
func visible(snap *catalog.Snapshot, k *catalog.Key) []*catalog.Model {
	var out []*catalog.Model
	for _, m := range snap.Models() {
		if k.AllowsModel(m.Name) {
			out = append(out, m)
		}
	}
	return out
}

func writeJSON(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

type anthropicModel struct {
	Type        string `json:"type"`
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	CreatedAt   string `json:"created_at"`
}

func toAnthropic(m *catalog.Model) anthropicModel {
	return anthropicModel{"model", m.Name, m.Name, m.Updated.UTC().Format(time.RFC3339)}
}

func (rl *Relay) listModels(w http.ResponseWriter, r *http.Request) {
	if isAnthropic(r) {
		snap, k, _, ok := rl.keyed(w, r, protoAnthropic)
		if !ok {
			return
		}
		ms := visible(snap, k)
		page := struct {
			Data    []anthropicModel `json:"data"`
			HasMore bool             `json:"has_more"`
			FirstID *string          `json:"first_id"`
			LastID  *string          `json:"last_id"`
		}{Data: []anthropicModel{}}
		for _, m := range ms {
			page.Data = append(page.Data, toAnthropic(m))
		}
		if len(ms) > 0 {
			page.FirstID, page.LastID = &ms[0].Name, &ms[len(ms)-1].Name
		}
		writeJSON(w, page)
		return
	}
	snap, k, _, ok := rl.keyed(w, r, protoChat)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(snap.ModelsJSON(k))
}

func (rl *Relay) getModel(w http.ResponseWriter, r *http.Request) {
	in := protoChat
	if isAnthropic(r) {
		in = protoAnthropic
	}
	snap, k, id, ok := rl.keyed(w, r, in)
	if !ok {
		return
	}
	name := r.PathValue("model")
	m, ok := snap.Model(name)
	if !ok || !m.Served() || len(m.Channels) == 0 || !k.AllowsModel(name) {
		writeError(w, wires[in].errorBody, llm.Errorf(llm.KindNotFound, "model_not_found", "the model '%s' does not exist", name), id)
		return
	}
	if in == protoAnthropic {
		writeJSON(w, toAnthropic(m))
		return
	}
	writeJSON(w, struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
		Status  string `json:"status"`
	}{m.Name, "model", m.Updated.Unix(), "tokenhot", m.Status})
}

type geminiModel struct {
	Name                       string   `json:"name"`
	BaseModelID                string   `json:"baseModelId"`
	Version                    string   `json:"version"`
	DisplayName                string   `json:"displayName"`
	Description                string   `json:"description,omitempty"`
	OutputTokenLimit           int64    `json:"outputTokenLimit,omitempty"`
	SupportedGenerationMethods []string `json:"supportedGenerationMethods"`
}

func toGemini(m *catalog.Model) geminiModel {
	return geminiModel{Name: "models/" + m.Name, BaseModelID: m.Name, Version: "tokenhot", DisplayName: m.Name,
		Description: "status: " + m.Status, OutputTokenLimit: m.MaxOutputTokens,
		SupportedGenerationMethods: []string{"generateContent", "streamGenerateContent", "countTokens"}}
}

func (rl *Relay) listGeminiModels(w http.ResponseWriter, r *http.Request) {
	snap, k, _, ok := rl.keyed(w, r, protoGemini)
	if !ok {
		return
	}
	list := struct {
		Models []geminiModel `json:"models"`
	}{Models: []geminiModel{}}
	for _, m := range visible(snap, k) {
		list.Models = append(list.Models, toGemini(m))
	}
	writeJSON(w, list)
}

func (rl *Relay) getGeminiModel(w http.ResponseWriter, r *http.Request) {
	snap, k, id, ok := rl.keyed(w, r, protoGemini)
	if !ok {
		return
	}
	name := strings.TrimPrefix(r.PathValue("model"), "models/")
	m, ok := snap.Model(name)
	if !ok || !m.Served() || len(m.Channels) == 0 || !k.AllowsModel(name) {
		writeError(w, gemini.ErrorBody, llm.Errorf(llm.KindNotFound, "model_not_found", "the model '%s' does not exist", name), id)
		return
	}
	writeJSON(w, toGemini(m))
}
