// The world map both map pages draw on: an equirectangular world in a 360 x 180 viewBox, its
// land from Natural Earth (world-atlas, read with topojson-client) drawn as SVG paths. The
// fleet map and a spacecraft's ground track use it; no inline script (CSP).
"use strict";

window.GoofsMap = (() => {
  const SVG = "http://www.w3.org/2000/svg";

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

  // The land into the map's `.land` group; `data-land-drawn` says when it is there.
  async function drawLand(map) {
    const response = await fetch(map.dataset.land);
    const topology = await response.json();
    const land = window.topojson.feature(topology, topology.objects.land);
    const group = map.querySelector(".land");
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

  // An open line through [longitude, latitude] points; where it wraps round the antimeridian
  // it runs to the map's edge and goes on from the other one (the crossing's latitude taken
  // halfway, which a few minutes' step makes invisible).
  function linePath(points) {
    let d = "";
    points.forEach(([longitude, latitude], i) => {
      const previous = points[i - 1];
      if (i > 0 && Math.abs(longitude - previous[0]) > 180) {
        const edge = previous[0] > 0 ? 180 : -180;
        const middle = (latitude + previous[1]) / 2;
        d += `L${x(edge)},${y(middle).toFixed(2)}M${x(-edge)},${y(middle).toFixed(2)}`;
      }
      d += `${i === 0 ? "M" : "L"}${x(longitude).toFixed(2)},${y(latitude).toFixed(2)}`;
    });
    return d;
  }

  return { SVG, x, y, drawLand, linePath };
})();
