/* Per-pixel filters for ImageData; Filters.selectedFilter follows the #filter picker. */
function mapPixels(imgData, fn) {
  const src = imgData.data;
  const out = new Uint8ClampedArray(src.length);
  for (let i = 0; i < src.length; i += 4) {
    const [r, g, b] = fn(src[i], src[i + 1], src[i + 2]);
    out[i] = r;
    out[i + 1] = g;
    out[i + 2] = b;
    out[i + 3] = src[i + 3];
  }
  return new ImageData(out, imgData.width, imgData.height);
}

const Filters = {
  none: (imgData) => imgData,
  grayscale: (imgData) => mapPixels(imgData, (r, g, b) => {
    const y = Math.round(0.21 * r + 0.72 * g + 0.07 * b); // luminosity
    return [y, y, y];
  }),
  sepia: (imgData) => mapPixels(imgData, (r, g, b) => [
    0.393 * r + 0.769 * g + 0.189 * b,
    0.349 * r + 0.686 * g + 0.168 * b,
    0.272 * r + 0.534 * g + 0.131 * b,
  ]),
  invert: (imgData) => mapPixels(imgData, (r, g, b) => [255 - r, 255 - g, 255 - b]),
};
Filters.selectedFilter = Filters.none;

const filterSelector = document.querySelector('#filter');
filterSelector.addEventListener('change', () => {
  Filters.selectedFilter = Filters[filterSelector.value];
});
