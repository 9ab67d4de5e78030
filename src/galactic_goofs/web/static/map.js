// The fleet map: the world (worldmap.js) under the fleet, whose markers move every few seconds
// from the positions endpoint. No inline script (CSP).
"use strict";

(() => {
  const { SVG, x, y } = window.GoofsMap;
  const REFRESH_MS = 5000;
  const map = document.getElementById("map");
  if (!map) return;
  const fleet = document.getElementById("fleet");
  const status = document.getElementById("map-status");
  const brokenList = document.getElementById("broken-list");

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

  window.GoofsMap.drawLand(map).catch(() => {
    map.dataset.landDrawn = "failed";
  });
  setInterval(refresh, REFRESH_MS);
})();
