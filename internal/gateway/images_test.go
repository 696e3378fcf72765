package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/tidwall/gjson"

	"github.com/tokenhot/tokenhot/internal/billing"
	"github.com/tokenhot/tokenhot/internal/mock"
)

func imagesConfig(mockURL, dsn string) string {
	return fmt.Sprintf(`
database: %q
channels:
  - {name: openai, type: openai, base_url: %s, keys: ["k-openai"], models: [gpt-image-1, dall-e-3]}
  - {name: ark, type: ark, base_url: %s, keys: ["k-ark"], models: [seedream], model_map: {seedream: doubao-seedream-4-0-250828}}
  - {name: gemini, type: gemini, base_url: %s, keys: ["k-gemini"], models: [nano-banana], model_map: {nano-banana: gemini-2.5-flash-image}}
models:
  - name: gpt-image-1
    price: {input: 5, output: 40}
  - name: dall-e-3
    price: {input: 0, output: 0, per_image: 0.04, images: {"1792x1024": 0.08, "1792x1024/hd": 0.12}}
  - name: seedream
    price: {input: 0, output: 0, per_image: 0.03}
  - name: nano-banana
    price: {input: 0.30, output: 0, per_image: 0.039}
users:
  - {name: alice, balance: 10.00, keys: [%q]}
`, dsn, mockURL, mockURL, mockURL, aliceKey)
}

type namedReader struct {
	io.Reader
	name string
}

func (n namedReader) Filename() string    { return n.name }
func (n namedReader) ContentType() string { return "image/png" }

// TestImagesWithTheOpenAISDK generates and edits images through each kind
// of image upstream with openai-go's image client, and checks the bill:
// tokens where the upstream reports them and the model is priced per token,
// images at their price by size and quality where it is priced per image.
func TestImagesWithTheOpenAISDK(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnvConfig(t, backend, mock.Options{}, imagesConfig)
		ctx := context.Background()
		c := e.client(aliceKey)
		var spent billing.Micros
		check := func(t *testing.T, resp *openai.ImagesResponse, err error, n int, wantCost billing.Micros, b64 bool) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Data) != n {
				t.Fatalf("%d images, want %d", len(resp.Data), n)
			}
			for _, d := range resp.Data {
				if b64 && d.B64JSON == "" || !b64 && d.URL == "" {
					t.Fatalf("image %+v", d)
				}
			}
			row := e.lastLog("alice")
			if row.Status != 200 || row.Cost <= 0 || wantCost > 0 && row.Cost != wantCost {
				t.Fatalf("log row %+v, want cost %s", row, wantCost)
			}
			spent += row.Cost
		}
		t.Run("gpt-image billed by tokens", func(t *testing.T) {
			resp, err := c.Images.Generate(ctx, openai.ImageGenerateParams{Model: "gpt-image-1", Prompt: "a sea otter", N: openai.Int(2),
				Quality: openai.ImageGenerateParamsQualityHigh})
			check(t, resp, err, 2, 0, true)
			row := e.lastLog("alice")
			m, _ := e.g.Catalog.Current().Model("gpt-image-1")
			if row.Usage.Output != 8000 || row.Cost != m.Price.Cost(row.Usage) {
				t.Fatalf("usage %+v cost %s", row.Usage, row.Cost)
			}
		})
		t.Run("dall-e-3 billed per image by size and quality", func(t *testing.T) {
			resp, err := c.Images.Generate(ctx, openai.ImageGenerateParams{Model: "dall-e-3", Prompt: "a lighthouse",
				Size: "1792x1024", Quality: "hd"})
			check(t, resp, err, 1, 120_000, false)
			resp, err = c.Images.Generate(ctx, openai.ImageGenerateParams{Model: "dall-e-3", Prompt: "a lighthouse"})
			check(t, resp, err, 1, 40_000, false)
		})
		t.Run("seedream: n becomes a sequential generation", func(t *testing.T) {
			resp, err := c.Images.Generate(ctx, openai.ImageGenerateParams{Model: "seedream", Prompt: "three posters", N: openai.Int(3),
				ResponseFormat: openai.ImageGenerateParamsResponseFormatURL})
			check(t, resp, err, 3, 90_000, false)
			sent := e.upstream.body("/api/v3/images/generations")
			if gjson.GetBytes(sent, "sequential_image_generation").Str != "auto" || gjson.GetBytes(sent, "model").Str != "doubao-seedream-4-0-250828" {
				t.Fatalf("upstream got %s", sent)
			}
		})
		t.Run("gemini image model", func(t *testing.T) {
			resp, err := c.Images.Generate(ctx, openai.ImageGenerateParams{Model: "nano-banana", Prompt: "a banana"})
			check(t, resp, err, 1, 0, true)
			row := e.lastLog("alice")
			m, _ := e.g.Catalog.Current().Model("nano-banana")
			if row.Cost != m.Price.Cost(row.Usage)+39_000 {
				t.Fatalf("cost %s for %+v", row.Cost, row.Usage)
			}
		})
		png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")
		for _, tt := range []struct {
			model string
			files int
			b64   bool
		}{{"gpt-image-1", 2, true}, {"seedream", 1, false}, {"nano-banana", 1, true}} {
			t.Run("edit with "+tt.model, func(t *testing.T) {
				p := openai.ImageEditParams{Model: tt.model, Prompt: "add a hat"}
				if tt.files == 1 {
					p.Image = openai.ImageEditParamsImageUnion{OfFile: namedReader{bytes.NewReader(png), "cat.png"}}
				} else {
					p.Image = openai.ImageEditParamsImageUnion{OfFileArray: []io.Reader{
						namedReader{bytes.NewReader(png), "a.png"}, namedReader{bytes.NewReader(png), "b.png"}}}
				}
				resp, err := c.Images.Edit(ctx, p)
				check(t, resp, err, 1, 0, tt.b64)
			})
		}
		t.Run("refused requests cost nothing", func(t *testing.T) {
			resp, body := e.post("/v1/images/generations", aliceKey, `{"model":"dall-e-3"}`)
			if resp.StatusCode != 400 || gjson.GetBytes(body, "error.param").Str != "prompt" {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			resp, body = e.post("/v1/images/generations", aliceKey, `{"model":"dall-e-3","prompt":"x [[mock:status=500]]"}`)
			if resp.StatusCode != 502 {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
		})
		e.checkLedger("alice", tenUSD-spent)
	})
}
