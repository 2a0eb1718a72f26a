/* Device pickers filled from OT.getDevices (after OT.getUserMedia for the labels), a publisher
   on the chosen devices, setAudioSource on change, cycleVideo, and an audioLevelUpdated meter:
   what the Publish-Devices sample does (no session). */
(() => {
  const audioSelector = document.querySelector('#audio-source-select');
  const videoSelector = document.querySelector('#video-source-select');
  const publishBtn = document.querySelector('#publish-btn');
  const cycleVideoBtn = document.querySelector('#cycle-video-btn');
  let publisher;

  function fill(selector, kind) {
    OT.getDevices((err, devices) => {
      if (err) {
        alert(`getDevices error ${err.message}`);
        return;
      }
      let n = 0;
      selector.innerHTML = '';
      devices.filter((d) => d.kind === kind).forEach((d) => {
        n += 1;
        const option = document.createElement('option');
        option.value = d.deviceId;
        option.textContent = d.label || `${d.kind}${n}`;
        selector.appendChild(option);
      });
      publishBtn.disabled = false;
    });
  }

  publishBtn.disabled = true;
  OT.getUserMedia().then((stream) => {
    fill(audioSelector, 'audioInput');
    fill(videoSelector, 'videoInput');
    stream.getTracks().forEach((track) => track.stop());
  });

  function setupDeviceSwitching() {
    audioSelector.disabled = false;
    audioSelector.addEventListener('change', (event) => {
      audioSelector.disabled = true;
      publisher.setAudioSource(event.target.value).then(() => {
        audioSelector.disabled = false;
      }).catch((err) => {
        alert(`setAudioSource failed: ${err.message}`);
        audioSelector.disabled = false;
      });
    });
    cycleVideoBtn.addEventListener('click', () => {
      cycleVideoBtn.disabled = true;
      publisher.cycleVideo().then(({ deviceId }) => {
        videoSelector.value = deviceId;
        cycleVideoBtn.disabled = false;
      }).catch((err) => {
        alert(`cycleVideo error ${err.message}`);
        cycleVideoBtn.disabled = false;
      });
    });
    cycleVideoBtn.style.display = 'inline-block';
  }

  function setupAudioLevelMeter() {
    const box = document.querySelector('#audio-meter');
    const meter = document.querySelector('#audio-meter meter');
    box.style.display = 'block';
    let movingAvg = null;
    publisher.on('audioLevelUpdated', (event) => {
      if (movingAvg === null || movingAvg <= event.audioLevel) movingAvg = event.audioLevel;
      else movingAvg = 0.7 * movingAvg + 0.3 * event.audioLevel;
      // map -30 dB .. 0 dB onto [0, 1]
      const level = Math.log(movingAvg) / Math.LN10 / 1.5 + 1;
      meter.value = Math.min(Math.max(level, 0), 1);
    });
  }

  publishBtn.addEventListener('click', () => {
    audioSelector.disabled = true;
    videoSelector.disabled = true;
    publishBtn.style.display = 'none';
    publisher = OT.initPublisher('publisher', {
      audioSource: audioSelector.value,
      videoSource: videoSelector.value,
    }, (err) => {
      if (err) {
        alert(`Publish error ${err.message}`);
      } else {
        setupDeviceSwitching();
        setupAudioLevelMeter();
      }
    });
  });
})();
