// A spacecraft's ground track on the world map (worldmap.js): one orbit back (dashed) and one
// ahead (solid), fetched again every minute; its marker follows the position the page polls
// every few seconds (#orbit-now, swapped in by htmx). No inline script (CSP).
"use strict";

(() => {
  const TRACK_REFRESH_MS = 60000;
  const map = document.getElementById("track-map");
  if (!map) return;
  const { SVG, x, y, drawLand, linePath } = window.GoofsMap;
  const track = document.getElementById("ground-track");
  const here = document.getElementById("here");

  function line(points, kind) {
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("class", kind);
    path.setAttribute("d", linePath(points.map((point) => [point.longitude, point.latitude])));
    return path;
  }

  function drawTrack(data) {
    const now = Date.now();
    const split = data.points.findIndex((point) => Date.parse(point.at) > now);
    const cut = split < 0 ? data.points.length : split;
    // The two halves share the point nearest now, so the line has no gap.
    const back = data.points.slice(0, cut + 1);
    const ahead = data.points.slice(Math.max(0, cut - 1));
    track.replaceChildren(line(back, "track-back"), line(ahead, "track-ahead"));
    map.dataset.trackPoints = String(data.points.length);
  }

  async function refreshTrack() {
    try {
      const response = await fetch(map.dataset.track, { headers: { Accept: "application/json" } });
      if (response.ok) drawTrack(await response.json());
    } catch (error) {
      // Offline for a moment: the next refresh tries again.
    }
  }

  function moveHere() {
    const now = document.getElementById("orbit-now");
    if (!now || now.dataset.latitude === undefined) {
      here.setAttribute("visibility", "hidden");
      return;
    }
    const latitude = Number(now.dataset.latitude);
    const longitude = Number(now.dataset.longitude);
    here.setAttribute("transform", `translate(${x(longitude).toFixed(3)} ${y(latitude).toFixed(3)})`);
    here.removeAttribute("visibility");
  }

  document.body.addEventListener("htmx:afterSettle", moveHere);
  drawLand(map).catch(() => {
    map.dataset.landDrawn = "failed";
  });
  refreshTrack();
  window.setInterval(refreshTrack, TRACK_REFRESH_MS);
})();
