// The playground: chat answers stream in from /playground/chat (SSE passed
// through from the API), images come from /playground/image. No API key
// reaches the browser; the session and its CSRF token authorize the calls.
(() => {
  const chat = document.getElementById("play-chat");
  const image = document.getElementById("play-image");
  if (!chat || !image) return;
  const history = [];

  const call = (form, path, body) =>
    fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": form.dataset.csrf },
      body: JSON.stringify(body),
    });

  const failure = async (form, resp) => {
    let msg = resp.status + "";
    try {
      const j = await resp.json();
      if (j.error && j.error.message) msg = j.error.message;
    } catch (_) {}
    return form.dataset.error + " " + msg;
  };

  const line = (role, text) => {
    const p = document.createElement("p");
    p.className = "play-" + role;
    const b = document.createElement("strong");
    b.textContent = role + ": ";
    const span = document.createElement("span");
    span.textContent = text;
    p.append(b, span);
    document.getElementById("play-log").append(p);
    return span;
  };

  chat.addEventListener("submit", async (e) => {
    e.preventDefault();
    const button = chat.querySelector("button");
    const text = chat.content.value.trim();
    if (!text) return;
    history.push({ role: "user", content: text });
    line("user", text);
    chat.content.value = "";
    button.disabled = true;
    const out = line("assistant", "");
    try {
      const resp = await call(chat, "/playground/chat", { model: chat.model.value, messages: history });
      if (!resp.ok || !resp.body) {
        out.textContent = await failure(chat, resp);
        history.pop();
        return;
      }
      const reader = resp.body.getReader();
      const dec = new TextDecoder();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf("\n")) >= 0) {
          const l = buf.slice(0, i).trim();
          buf = buf.slice(i + 1);
          if (!l.startsWith("data:")) continue;
          const data = l.slice(5).trim();
          if (data === "[DONE]") continue;
          try {
            const j = JSON.parse(data);
            if (j.error) out.textContent += " [" + (j.error.message || "error") + "]";
            const d = j.choices && j.choices[0] && j.choices[0].delta;
            if (d && d.content) out.textContent += d.content;
          } catch (_) {}
        }
      }
      history.push({ role: "assistant", content: out.textContent });
    } catch (err) {
      out.textContent = chat.dataset.error + " " + err;
      history.pop();
    } finally {
      button.disabled = false;
    }
  });

  image.addEventListener("submit", async (e) => {
    e.preventDefault();
    const button = image.querySelector("button");
    const box = document.getElementById("play-images");
    box.textContent = "";
    button.disabled = true;
    try {
      const resp = await call(image, "/playground/image", {
        model: image.model.value, prompt: image.prompt.value, n: 1, response_format: "b64_json",
      });
      if (!resp.ok) {
        box.textContent = await failure(image, resp);
        return;
      }
      const j = await resp.json();
      for (const d of j.data || []) {
        const img = document.createElement("img");
        img.alt = image.prompt.value;
        if (d.b64_json) img.src = "data:image/png;base64," + d.b64_json;
        else if (d.url) img.src = d.url;
        else continue;
        img.className = "play-image";
        box.append(img);
      }
    } catch (err) {
      box.textContent = image.dataset.error + " " + err;
    } finally {
      button.disabled = false;
    }
  });
})();
