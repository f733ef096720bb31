// Result page: live progress over the websocket, the per-frame timeline, face carousel.
(() => {
  const readJson = (id) => {
    const node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  };
  const player = document.getElementById("player");

  // --- live progress -----------------------------------------------------------------------
  // The websocket brings each change; a socket that closes early or stays quiet this long (a
  // proxy that buffers it, an event lost) gives way to polling the API, so the page still ends.
  const QUIET_MS = 15000;
  const POLL_MS = 2000;
  const live = document.getElementById("live");
  if (live && !live.hidden) {
    let finished = false;
    let polling = false;
    let quietTimer = 0;
    const show = (status) => {
      document.getElementById("live-stage").textContent = status.stage_label;
      document.getElementById("live-bar").style.width = `${status.progress}%`;
      document.getElementById("live-bar-wrap").setAttribute("aria-valuenow", status.progress);
      document.getElementById("live-percent").textContent = status.progress;
      document.getElementById("live-message").textContent = status.message || "";
      if (status.status === "done" || status.status === "failed") {
        finished = true;
        window.location.reload(); // the server renders the evidence
      }
    };
    const poll = async () => {
      try {
        const response = await fetch(live.dataset.statusUrl, {
          headers: { Accept: "application/json" },
          signal: AbortSignal.timeout(QUIET_MS), // a poll left unanswered is a failed one
        });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        show(await response.json());
      } catch {
        document.getElementById("live-note").textContent =
          "Live updates stopped; reload the page to see the latest state.";
        return;
      }
      if (!finished) setTimeout(poll, POLL_MS);
    };
    const fallBack = () => {
      clearTimeout(quietTimer);
      if (finished || polling) return;
      polling = true;
      poll();
    };
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${window.location.host}${live.dataset.wsUrl}`);
    const rearm = () => {
      clearTimeout(quietTimer);
      quietTimer = setTimeout(() => {
        socket.close();
        fallBack();
      }, QUIET_MS);
    };
    rearm();
    socket.addEventListener("message", (event) => {
      rearm();
      const status = JSON.parse(event.data);
      if (status.type === "analysis.update" && !finished) show(status);
    });
    socket.addEventListener("close", fallBack);
  }

  // --- video -------------------------------------------------------------------------------
  if (player) {
    player.addEventListener("error", () => {
      document.getElementById("player-note").hidden = false;
    });
  }

  // --- timeline ----------------------------------------------------------------------------
  const canvas = document.getElementById("timeline");
  const frames = readJson("per-frame") || [];
  const model = readJson("model-card") || {};
  if (canvas && frames.length) {
    const pad = { left: 34, right: 8, top: 8, bottom: 20 };
    const times = frames.map((f) => f.time_s);
    const tMax = Math.max(...times, 0.001);
    let cursor = null;

    const draw = () => {
      const ratio = window.devicePixelRatio || 1;
      const width = canvas.clientWidth;
      const height = canvas.clientHeight || 180;
      canvas.width = width * ratio;
      canvas.height = height * ratio;
      const ctx = canvas.getContext("2d");
      ctx.scale(ratio, ratio);
      const plotW = width - pad.left - pad.right;
      const plotH = height - pad.top - pad.bottom;
      const x = (t) => pad.left + (t / tMax) * plotW;
      const y = (p) => pad.top + (1 - p) * plotH;
      ctx.font = "11px system-ui, sans-serif";
      ctx.fillStyle = "#5d6678";
      ctx.strokeStyle = "#dde2ea";
      [0, 0.5, 1].forEach((p) => {
        ctx.beginPath(); ctx.moveTo(pad.left, y(p)); ctx.lineTo(width - pad.right, y(p)); ctx.stroke();
        ctx.fillText(`${p * 100}%`, 2, y(p) + 4);
      });
      ctx.fillText("0 s", pad.left, height - 4);
      ctx.fillText(`${tMax.toFixed(1)} s`, width - pad.right - 36, height - 4);
      const band = model.uncertain_band;
      if (band) {
        ctx.fillStyle = "rgba(185, 119, 14, 0.12)";
        ctx.fillRect(pad.left, y(band[1]), plotW, y(band[0]) - y(band[1]));
      }
      if (typeof model.threshold === "number") {
        ctx.strokeStyle = "#c0392b"; ctx.setLineDash([4, 4]);
        ctx.beginPath(); ctx.moveTo(pad.left, y(model.threshold)); ctx.lineTo(width - pad.right, y(model.threshold)); ctx.stroke();
        ctx.setLineDash([]);
      }
      const scored = frames.filter((f) => typeof f.score === "number");
      ctx.strokeStyle = "#2f5bd3"; ctx.lineWidth = 2; ctx.beginPath();
      scored.forEach((f, i) => (i ? ctx.lineTo(x(f.time_s), y(f.score)) : ctx.moveTo(x(f.time_s), y(f.score))));
      ctx.stroke();
      ctx.fillStyle = "#2f5bd3";
      scored.forEach((f) => { ctx.beginPath(); ctx.arc(x(f.time_s), y(f.score), 2.5, 0, 2 * Math.PI); ctx.fill(); });
      frames.filter((f) => typeof f.score !== "number").forEach((f) => {
        ctx.fillStyle = "#b8c3da"; ctx.fillRect(x(f.time_s) - 1, y(0) - 6, 2, 6); // no face in this frame
      });
      if (cursor !== null) {
        ctx.strokeStyle = "#1d2330"; ctx.lineWidth = 1;
        ctx.beginPath(); ctx.moveTo(x(cursor), pad.top); ctx.lineTo(x(cursor), pad.top + plotH); ctx.stroke();
      }
      canvas.dataset.plot = JSON.stringify({ left: pad.left, width: plotW, tMax });
    };

    canvas.addEventListener("click", (event) => {
      const plot = JSON.parse(canvas.dataset.plot);
      const rect = canvas.getBoundingClientRect();
      const t = Math.min(plot.tMax, Math.max(0, ((event.clientX - rect.left - plot.left) / plot.width) * plot.tMax));
      // Jump to the sampled frame nearest to the click.
      const nearest = frames.reduce((best, f) => (Math.abs(f.time_s - t) < Math.abs(best.time_s - t) ? f : best));
      cursor = nearest.time_s;
      if (player) {
        player.currentTime = nearest.time_s;
        player.pause();
      }
      draw();
    });
    if (player) player.addEventListener("timeupdate", () => { cursor = player.currentTime; draw(); });
    window.addEventListener("resize", draw);
    draw();
  }

  // --- face carousel -----------------------------------------------------------------------
  const track = document.getElementById("faces");
  if (track) {
    const step = () => Math.max(140, track.clientWidth * 0.8);
    document.querySelector(".carousel-button.prev").addEventListener("click", () => track.scrollBy({ left: -step(), behavior: "smooth" }));
    document.querySelector(".carousel-button.next").addEventListener("click", () => track.scrollBy({ left: step(), behavior: "smooth" }));
    // The row itself takes focus (Tab) and moves a page of faces per arrow key.
    track.addEventListener("keydown", (event) => {
      const direction = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (!direction) return;
      event.preventDefault();
      track.scrollBy({ left: direction * step(), behavior: "smooth" });
    });
  }
})();
