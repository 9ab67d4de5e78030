// The fleet map: Natural Earth's land (world-atlas, drawn here as SVG paths) under the fleet,
// whose markers move every few seconds from the positions endpoint. No inline script (CSP).
"use strict";

(() => {
  const SVG = "http://www.w3.org/2000/svg";
  const REFRESH_MS = 5000;
  const map = document.getElementById("map");
  if (!map) return;
  const fleet = document.getElementById("fleet");
  const status = document.getElementById("map-status");
  const brokenList = document.getElementById("broken-list");

  const x = (longitude) => longitude + 180;
  const y = (latitude) => 90 - latitude;

  // A ring that crosses the antimeridian an odd number of times goes round a pole
  // (Antarctica): it is closed along the map's edge and the pole. One that crosses an even
  // number of times (Fiji, Chukotka) is cut into pieces, each closed on its own side.
  function ringPath(ring) {
    const jumps = ring.filter((point, i) => i > 0 && Math.abs(point[0] - ring[i - 1][0]) > 180);
    const polar = jumps.length % 2 === 1;
    const pole = ring.reduce((sum, point) => sum + point[1], 0) < 0 ? -90 : 90;
    let d = "";
    ring.forEach((point, i) => {
      const previous = ring[i - 1];
      if (i === 0) {
        d += `M${x(point[0]).toFixed(2)},${y(point[1]).toFixed(2)}`;
        return;
      }
      if (Math.abs(point[0] - previous[0]) > 180) {
        const edge = previous[0] > 0 ? 180 : -180;
        if (polar) {
          d += `L${x(edge)},${y(previous[1]).toFixed(2)}L${x(edge)},${y(pole)}`;
          d += `L${x(-edge)},${y(pole)}L${x(-edge)},${y(point[1]).toFixed(2)}`;
        } else {
          d += `L${x(edge)},${y(previous[1]).toFixed(2)}M${x(-edge)},${y(point[1]).toFixed(2)}`;
        }
      }
      d += `L${x(point[0]).toFixed(2)},${y(point[1]).toFixed(2)}`;
    });
    return `${d}Z`;
  }

  async function drawLand() {
    const response = await fetch(map.dataset.land);
    const topology = await response.json();
    const land = window.topojson.feature(topology, topology.objects.land);
    const group = document.getElementById("land");
    for (const feature of land.features) {
      const geometry = feature.geometry;
      const polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
      const path = document.createElementNS(SVG, "path");
      path.setAttribute("d", polygons.flat().map(ringPath).join(""));
      path.setAttribute("fill-rule", "evenodd");
      group.appendChild(path);
    }
    map.dataset.landDrawn = "true";
  }

  function marker(craft) {
    const broken = craft.status === "MALFUNCTIONING";
    const group = document.createElementNS(SVG, "g");
    group.setAttribute("class", `craft ${broken ? "malfunctioning" : "nominal"}`);
    group.dataset.id = craft.id;
    group.dataset.status = craft.status;
    const title = document.createElementNS(SVG, "title");
    group.appendChild(title);
    if (broken) {
      const shape = document.createElementNS(SVG, "path");
      shape.setAttribute("class", "marker-malfunctioning");
      shape.setAttribute("d", "M0,-2.6 L2.4,1.8 L-2.4,1.8Z");
      const label = document.createElementNS(SVG, "text");
      label.setAttribute("x", "3");
      label.setAttribute("y", "1");
      label.textContent = craft.name;
      group.append(shape, label);
    } else {
      const dot = document.createElementNS(SVG, "circle");
      dot.setAttribute("class", "marker-nominal");
      dot.setAttribute("r", "1.2");
      group.appendChild(dot);
    }
    return group;
  }

  function place(group, craft) {
    group.setAttribute(
      "transform",
      `translate(${x(craft.longitude).toFixed(3)} ${y(craft.latitude).toFixed(3)})`,
    );
    const where = `${craft.latitude.toFixed(1)}°, ${craft.longitude.toFixed(1)}°, ${Math.round(craft.altitude_km)} km`;
    const state = craft.status === "MALFUNCTIONING" ? ", malfunctioning" : "";
    group.querySelector("title").textContent = `${craft.name} (${craft.cospar_id})${state}: ${where}`;
  }

  function show(positions) {
    const existing = new Map([...fleet.children].map((group) => [group.dataset.id, group]));
    const broken = [];
    for (const craft of positions.items) {
      let group = existing.get(craft.id);
      existing.delete(craft.id);
      if (!group || group.dataset.status !== craft.status) {
        const fresh = marker(craft);
        if (group) group.replaceWith(fresh);
        else fleet.appendChild(fresh);
        group = fresh;
      }
      place(group, craft);
      if (craft.status === "MALFUNCTIONING") {
        broken.push(craft);
        fleet.appendChild(group); // drawn last, so on top of the nominal ones
      }
    }
    for (const gone of existing.values()) gone.remove();
    const at = new Date(positions.at);
    status.dataset.count = String(positions.items.length);
    status.dataset.at = positions.at;
    status.textContent = `${positions.items.length} spacecraft in Earth orbit, as of ${at.toLocaleTimeString()}`;
    const items = broken.map((craft) => {
      const item = document.createElement("li");
      const code = document.createElement("code");
      code.textContent = craft.cospar_id;
      item.append(`${craft.name} `, code);
      return item;
    });
    if (!items.length) {
      const calm = document.createElement("li");
      calm.textContent = "None: everyone is behaving.";
      items.push(calm);
    }
    brokenList.replaceChildren(...items);
  }

  async function refresh() {
    try {
      const response = await fetch(map.dataset.positions, { headers: { Accept: "application/json" } });
      if (response.ok) show(await response.json());
    } catch (error) {
      // Offline for a moment: the next refresh tries again.
    }
  }

  drawLand().catch(() => {
    map.dataset.landDrawn = "failed";
  });
  setInterval(refresh, REFRESH_MS);
})();
