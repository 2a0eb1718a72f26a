/**
 * The default UI of a Publisher or Subscriber: a root element (class OT_root) holding the
 * <video>, the name bar, the mute button, the audio level meter, and for publishers the
 * recording indicator. With insertDefaultUI: false there is no DOM: only the <video> element,
 * given to the application by videoElementCreated.
 */
import { log } from './log.js';
import { cssSize, domReady, isElement, uid } from './util.js';

const CSS = `
.OT_root{position:relative;overflow:hidden;background-color:#000;background-position:center;
background-size:cover;background-repeat:no-repeat;display:inline-block;vertical-align:top;box-sizing:border-box}
.OT_root .OT_video-element{width:100%;height:100%;display:block;background:transparent}
.OT_root.OT_no-video .OT_video-element{visibility:hidden}
.OT_root .OT_name{position:absolute;left:0;right:0;bottom:0;padding:2px 6px;font:12px sans-serif;color:#fff;
background:rgba(0,0,0,.45);white-space:nowrap;overflow:hidden;text-overflow:ellipsis;display:none;z-index:2}
.OT_root[data-name-display="on"] .OT_name,.OT_root[data-name-display="auto"].OT_name-shown .OT_name,
.OT_root[data-name-display="auto"]:hover .OT_name,.OT_root[data-name-display="auto"].OT_no-video .OT_name{display:block}
.OT_root .OT_name:empty{display:none!important}
.OT_root .OT_mute{position:absolute;top:6px;right:6px;width:26px;height:26px;border:0;border-radius:50%;padding:0;
cursor:pointer;background:rgba(0,0,0,.55);color:#fff;font:bold 12px sans-serif;display:none;z-index:3}
.OT_root .OT_mute.OT_active{background:rgba(200,0,0,.8)}
.OT_root[data-button-display="on"] .OT_mute,.OT_root[data-button-display="auto"]:hover .OT_mute{display:block}
.OT_root .OT_audio-level-meter{position:absolute;left:4px;top:10%;bottom:10%;width:6px;border-radius:3px;
background:rgba(255,255,255,.25);display:none;z-index:2}
.OT_root .OT_audio-level-meter__value{position:absolute;left:0;right:0;bottom:0;height:0;border-radius:3px;background:#3c3}
.OT_root[data-audio-level-display="on"] .OT_audio-level-meter,
.OT_root[data-audio-level-display="auto"].OT_no-video .OT_audio-level-meter{display:block}
.OT_archiving{position:absolute;top:6px;left:6px;z-index:10;display:none;align-items:center;gap:4px;padding:2px 6px;
border-radius:3px;background:rgba(0,0,0,.55);color:#fff;font:bold 11px sans-serif;letter-spacing:.05em;pointer-events:none}
.OT_archiving[data-archiving="true"]{display:flex}
.OT_root[data-archive-status-display="off"] .OT_archiving{display:none!important}
.OT_archiving .OT_archiving-light{width:10px;height:10px;border-radius:50%;background:#e00;box-shadow:0 0 4px #f00}
`;

let styleInstalled = false;

function installStyle() {
  if (styleInstalled || typeof document === 'undefined') return;
  styleInstalled = true;
  const style = document.createElement('style');
  style.setAttribute('data-archivist', 'style');
  style.textContent = CSS.replace(/\n/g, '');
  (document.head || document.documentElement).appendChild(style);
}

const DISPLAY_MODES = ['auto', 'on', 'off'];

const PUBLISHER_STYLE = Object.freeze({
  archiveStatusDisplayMode: 'auto',
  audioLevelDisplayMode: 'auto',
  backgroundImageURI: '',
  buttonDisplayMode: 'auto',
  nameDisplayMode: 'auto',
  videoDisabledDisplayMode: 'auto',
});

const SUBSCRIBER_STYLE = Object.freeze({
  audioBlockedDisplayMode: 'auto',
  audioLevelDisplayMode: 'auto',
  backgroundImageURI: '',
  buttonDisplayMode: 'auto',
  nameDisplayMode: 'auto',
  videoDisabledDisplayMode: 'auto',
});

function resolveTarget(target) {
  if (target === undefined || target === null || target === '') return null;
  if (typeof target === 'string') return typeof document === 'undefined' ? null : document.getElementById(target);
  return isElement(target) ? target : null;
}

export class Widget {
  #kind;
  #props;
  #style;
  #root = null;
  #video;
  #nameEl = null;
  #button = null;
  #meterValue = null;
  #archive = null;
  #archiving = false;
  #hasVideo = true;
  #id;
  #target;
  #onMute;
  #nameTimer = null;
  #removed = false;

  /**
   * @param {'publisher'|'subscriber'} kind
   * @param {object} props the widget properties (insertMode, insertDefaultUI, width, height,
   *   fitMode, mirror, showControls, style, name)
   * @param {{onMuteClick?: () => void}} hooks
   */
  constructor(kind, target, props, hooks = {}) {
    installStyle();
    this.#kind = kind;
    this.#props = props;
    this.#onMute = hooks.onMuteClick || null;
    this.#target = target;
    this.#style = { ...(kind === 'publisher' ? PUBLISHER_STYLE : SUBSCRIBER_STYLE) };
    if (props.showControls === false) {
      this.#style.nameDisplayMode = 'off';
      this.#style.buttonDisplayMode = 'off';
      this.#style.audioLevelDisplayMode = 'off';
    }
    this.#video = this.#makeVideo();
    const mode = props.insertMode || 'replace';
    const defaultUI = props.insertDefaultUI !== false;
    let resolved = resolveTarget(target);
    // A target that already is another widget is replaced by a new element, not reused.
    const reusable = !(resolved && resolved.classList.contains('OT_root'));
    if (!reusable) resolved = null;
    if (defaultUI && mode === 'replace' && reusable && (resolved || (typeof target === 'string' && target))) {
      // 'replace' reuses the target element as the widget's root: it keeps its id.
      this.#id = resolved ? (resolved.id || (resolved.id = uid('OT'))) : target;
    } else {
      this.#id = uid('OT');
    }
    if (defaultUI && !(mode === 'replace' && reusable && !resolved && typeof target === 'string' && target)) {
      this.#root = mode === 'replace' && resolved ? resolved : document.createElement('div');
      this.#build();
    }
    if (props.style) this.setStyle(props.style);
  }

  get id() {
    return this.#id;
  }

  /** The root element (undefined without the default UI, or before a 'replace' target exists). */
  get element() {
    return this.#root || undefined;
  }

  get video() {
    return this.#video;
  }

  get defaultUI() {
    return this.#props.insertDefaultUI !== false;
  }

  /** Inserts the root once the DOM is ready, following insertMode. */
  async insert() {
    if (!this.defaultUI) return;
    await domReady();
    if (this.#removed) return;
    const mode = this.#props.insertMode || 'replace';
    const target = resolveTarget(this.#target);
    if (this.#target && !target) log.warn(`target element "${this.#target}" not found; appending to <body>`);
    if (!this.#root) {
      // a 'replace' target named before the DOM was parsed
      if (target) {
        this.#root = target;
        if (!target.id) target.id = this.#id;
        this.#id = target.id;
      } else {
        this.#root = document.createElement('div');
        this.#root.id = this.#id;
      }
      this.#build();
    }
    const root = this.#root;
    if (!target) {
      if (!root.isConnected) document.body.appendChild(root);
      return;
    }
    if (root === target) return;
    switch (mode) {
      case 'append':
        target.appendChild(root);
        break;
      case 'before':
        target.parentNode.insertBefore(root, target);
        break;
      case 'after':
        target.parentNode.insertBefore(root, target.nextSibling);
        break;
      default:
        target.parentNode.replaceChild(root, target);
    }
  }

  #makeVideo() {
    const video = document.createElement('video');
    video.autoplay = true;
    video.playsInline = true;
    video.setAttribute('playsinline', '');
    if (this.#kind === 'publisher') {
      video.muted = true;
      video.setAttribute('muted', '');
    }
    video.className = 'OT_video-element';
    this.setFitMode(this.#props.fitMode, video);
    return video;
  }

  #build() {
    const root = this.#root;
    const props = this.#props;
    while (root.firstChild) root.removeChild(root.firstChild);
    if (!root.id) root.id = this.#id;
    root.classList.add('OT_root', this.#kind === 'publisher' ? 'OT_publisher' : 'OT_subscriber');
    root.setAttribute('data-archivist', this.#kind);
    const w = cssSize(props.width === undefined ? 264 : props.width);
    const h = cssSize(props.height === undefined ? 198 : props.height);
    if (w) root.style.width = w;
    if (h) root.style.height = h;
    root.appendChild(this.#video);

    this.#nameEl = document.createElement('div');
    this.#nameEl.className = 'OT_name';
    this.#nameEl.textContent = props.name || '';
    root.appendChild(this.#nameEl);

    this.#button = document.createElement('button');
    this.#button.type = 'button';
    this.#button.className = 'OT_mute';
    this.#button.title = 'Mute';
    this.#button.setAttribute('aria-label', 'Mute');
    this.#button.textContent = '\u{1F507}';
    this.#button.addEventListener('click', (ev) => {
      ev.stopPropagation();
      if (this.#onMute) this.#onMute();
    });
    root.appendChild(this.#button);

    const meter = document.createElement('div');
    meter.className = 'OT_audio-level-meter';
    this.#meterValue = document.createElement('div');
    this.#meterValue.className = 'OT_audio-level-meter__value';
    meter.appendChild(this.#meterValue);
    root.appendChild(meter);

    if (this.#kind === 'publisher') {
      root.setAttribute('data-archiving', 'false');
      const indicator = document.createElement('div');
      indicator.className = 'OT_archiving';
      indicator.setAttribute('data-archiving', 'false');
      indicator.setAttribute('role', 'status');
      indicator.setAttribute('aria-label', 'Recording');
      indicator.setAttribute('title', 'This session is being recorded');
      indicator.setAttribute('aria-hidden', 'true');
      indicator.style.display = 'none';
      const light = document.createElement('span');
      light.className = 'OT_archiving-light';
      const label = document.createElement('span');
      label.className = 'OT_archiving-status';
      label.textContent = 'REC';
      indicator.append(light, label);
      root.appendChild(indicator);
      this.#archive = indicator;
    }
    this.#applyStyle();
    this.setArchiving(this.#archiving);
    this.setHasVideo(this.#hasVideo);
    root.classList.add('OT_name-shown');
    this.#nameTimer = setTimeout(() => root.classList.remove('OT_name-shown'), 3000);
  }

  setName(name) {
    if (this.#nameEl) this.#nameEl.textContent = name || '';
  }

  setMirror(on) {
    this.#video.style.transform = on ? 'scaleX(-1)' : '';
  }

  setFitMode(mode, video = this.#video) {
    video.style.objectFit = mode === 'contain' ? 'contain' : 'cover';
  }

  getStyle() {
    return { ...this.#style };
  }

  /** setStyle(name, value) or setStyle({name: value, ...}). */
  setStyle(style, value) {
    const entries = typeof style === 'string' ? [[style, value]] : Object.entries(style || {});
    for (const [k, v] of entries) {
      if (!(k in this.#style)) continue;
      if (k === 'backgroundImageURI') this.#style[k] = v ? String(v) : '';
      else if (k === 'archiveStatusDisplayMode') this.#style[k] = v === 'off' ? 'off' : 'auto';
      else if (DISPLAY_MODES.includes(v)) this.#style[k] = v;
    }
    this.#applyStyle();
  }

  #applyStyle() {
    const root = this.#root;
    if (!root) return;
    const s = this.#style;
    root.setAttribute('data-name-display', s.nameDisplayMode);
    root.setAttribute('data-button-display', s.buttonDisplayMode);
    root.setAttribute('data-audio-level-display', s.audioLevelDisplayMode);
    if (this.#kind === 'publisher') root.setAttribute('data-archive-status-display', s.archiveStatusDisplayMode);
    const uri = s.backgroundImageURI;
    root.style.backgroundImage = uri && !/^data:image\/\w+;base64,$/.test(uri) ? `url("${uri.replace(/"/g, '\\"')}")` : '';
  }

  /** True when the audio level meter is on screen (the owner then samples levels). */
  get showsAudioLevel() {
    if (!this.#root || !this.#root.isConnected) return false;
    const mode = this.#style.audioLevelDisplayMode;
    return mode === 'on' || (mode === 'auto' && !this.#hasVideo);
  }

  setAudioLevel(level) {
    if (this.#meterValue) this.#meterValue.style.height = `${Math.round(Math.min(1, Math.max(0, level)) * 100)}%`;
  }

  /** Without video (audio-only, or video off) the background image and the meter show. */
  setHasVideo(on) {
    this.#hasVideo = !!on;
    if (this.#root) this.#root.classList.toggle('OT_no-video', !on);
  }

  setMuted(muted) {
    if (!this.#button) return;
    this.#button.classList.toggle('OT_active', !!muted);
    this.#button.title = muted ? 'Unmute' : 'Mute';
    this.#button.setAttribute('aria-label', this.#button.title);
    this.#button.setAttribute('aria-pressed', muted ? 'true' : 'false');
  }

  /** The publisher's recording indicator (data-archiving on the root and the indicator). */
  setArchiving(on) {
    this.#archiving = !!on;
    const v = on ? 'true' : 'false';
    if (this.#root && this.#kind === 'publisher') {
      this.#root.setAttribute('data-archiving', v);
      this.#root.classList.toggle('OT_archiving-on', !!on);
    }
    if (this.#archive) {
      this.#archive.setAttribute('data-archiving', v);
      this.#archive.setAttribute('aria-hidden', on ? 'false' : 'true');
      this.#archive.style.display = on ? 'flex' : 'none';
    }
  }

  remove() {
    this.#removed = true;
    clearTimeout(this.#nameTimer);
    this.#video.srcObject = null;
    if (this.#root && this.#root.parentNode) this.#root.parentNode.removeChild(this.#root);
  }
}

/**
 * Starts playback; when the autoplay policy refuses sound, plays muted and calls `onBlocked`,
 * then unmutes on the next click or key press and calls `onUnblocked`.
 */
export function startPlayback(video, wantSound, onBlocked, onUnblocked) {
  let p;
  try {
    p = video.play();
  } catch {
    return;
  }
  if (!p || typeof p.catch !== 'function') return;
  p.catch((err) => {
    if (!err || err.name !== 'NotAllowedError' || video.muted) return;
    video.muted = true;
    video.play().catch(() => {});
    if (!wantSound) return;
    if (onBlocked) onBlocked();
    const unmute = () => {
      video.muted = false;
      document.removeEventListener('click', unmute, true);
      document.removeEventListener('keydown', unmute, true);
      if (onUnblocked) onUnblocked();
    };
    document.addEventListener('click', unmute, true);
    document.addEventListener('keydown', unmute, true);
  });
}

/** The picture of a <video> as base64 PNG (no data: prefix), or null. */
export function imageData(video) {
  if (!video || !video.videoWidth) return null;
  const c = document.createElement('canvas');
  c.width = video.videoWidth;
  c.height = video.videoHeight;
  c.getContext('2d').drawImage(video, 0, 0);
  return c.toDataURL('image/png').replace(/^data:image\/png;base64,/, '');
}
