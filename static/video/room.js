// The video call page. Camera and microphone come from getUserMedia; sound and picture travel
// peer to peer over an RTCPeerConnection. Signalling goes through Knotwork over plain HTTPS: this
// page posts its messages (offer, answer, ICE candidates, bye) one at a time, in order, and polls
// about once a second for the other side's messages after the last id it read. The client's page
// makes the offer, and only once the therapist has admitted them.
const POLL_MS = 1000;

const root = document.getElementById("video-room");
if (root) start(root);

function start(root) {
  const seat = root.dataset.seat;
  const peerName = root.dataset.peer;
  const texts = JSON.parse(document.getElementById("video-texts").textContent);
  const iceServers = JSON.parse(document.getElementById("video-ice-servers").textContent);
  const csrf = root.querySelector('input[name="csrfmiddlewaretoken"]').value;
  const status = document.getElementById("video-status");
  const mediaNote = root.querySelector("[data-media-note]");
  const localVideo = root.querySelector("[data-local]");
  const remoteVideo = root.querySelector("[data-remote]");
  const admitBox = root.querySelector("[data-admit-box]");
  const admitButton = root.querySelector("[data-admit-button]");
  const hangup = root.querySelector("[data-hangup]");
  const rejoin = root.querySelector("[data-rejoin]");

  // Tests and assistive tooling read the connection state here and on data-connection.
  const call = { pc: null, connectionState: "new", me: "absent", peer: "absent" };
  window.knotworkVideo = call;
  let stream = null;
  let after = 0;
  let joined = null; // this page's join; its hang-up is ignored once a newer page of ours joined
  let stopped = false;
  let pending = []; // candidates that came before the remote description
  let sending = Promise.resolve();

  const text = (key) => texts[key].replaceAll("{peer}", peerName);
  const say = (message) => {
    if (status.textContent !== message) status.textContent = message; // aria-live: speak changes only
  };
  const setConnection = (state) => {
    call.connectionState = state;
    root.dataset.connection = state;
  };

  async function request(method, url, body) {
    const response = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "X-Room-Pass": root.dataset.pass },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error((data.error && data.error.message) || String(response.status));
      error.status = response.status;
      error.code = data.error && data.error.code;
      throw error;
    }
    return data;
  }

  // true: keep going (a passing network or load problem); false: the call is over for this page.
  function handleError(error) {
    if (error.status === undefined) {
      say(text("network"));
      return true;
    }
    if (error.status === 429 || error.status >= 500) return true;
    if (error.status === 409 && error.code !== "room_closed") return true;
    stop();
    say(error.message);
    return false;
  }

  function send(kind, payload) {
    sending = sending.then(() => request("POST", root.dataset.signals, { kind, payload })).catch(handleError);
    return sending;
  }

  function closePeer() {
    if (call.pc) {
      call.pc.onconnectionstatechange = null;
      call.pc.onicecandidate = null;
      call.pc.close();
      call.pc = null;
    }
    pending = [];
    remoteVideo.srcObject = null;
    setConnection("new");
  }

  function newPeer() {
    closePeer();
    const pc = new RTCPeerConnection({ iceServers });
    call.pc = pc;
    if (stream) {
      for (const track of stream.getTracks()) pc.addTrack(track, stream);
    } else if (seat === "client") {
      pc.addTransceiver("audio", { direction: "recvonly" });
      pc.addTransceiver("video", { direction: "recvonly" });
    }
    pc.onicecandidate = (event) => {
      if (event.candidate) send("candidate", event.candidate.toJSON());
    };
    pc.ontrack = (event) => {
      const remote = event.streams[0] || new MediaStream([event.track]);
      if (remoteVideo.srcObject !== remote) remoteVideo.srcObject = remote;
    };
    pc.onconnectionstatechange = () => {
      if (call.pc !== pc) return;
      setConnection(pc.connectionState);
      if (pc.connectionState === "connected") say(text("connected"));
      else if (pc.connectionState === "disconnected") say(text("reconnecting"));
      else if (pc.connectionState === "failed") {
        say(text("failed"));
        if (seat === "client") closePeer(); // the next poll offers again while the therapist is there
      }
    };
    setConnection("connecting");
    say(text("connecting"));
    return pc;
  }

  async function flush(pc) {
    for (const candidate of pending.splice(0)) await pc.addIceCandidate(candidate).catch(() => {});
  }

  async function handle(signal) {
    const payload = signal.payload;
    if (signal.kind === "offer" && seat === "therapist") {
      const pc = newPeer();
      await pc.setRemoteDescription({ type: "offer", sdp: payload.sdp });
      await flush(pc);
      await pc.setLocalDescription(await pc.createAnswer());
      send("answer", { type: pc.localDescription.type, sdp: pc.localDescription.sdp });
    } else if (signal.kind === "answer" && seat === "client") {
      const pc = call.pc;
      if (!pc || pc.signalingState !== "have-local-offer") return;
      await pc.setRemoteDescription({ type: "answer", sdp: payload.sdp });
      await flush(pc);
    } else if (signal.kind === "candidate") {
      if (call.pc && call.pc.remoteDescription) await call.pc.addIceCandidate(payload).catch(() => {});
      else pending.push(payload);
    } else if (signal.kind === "bye") {
      closePeer();
      say(text("peer_left"));
    }
  }

  async function offer() {
    const pc = newPeer();
    await pc.setLocalDescription(await pc.createOffer());
    send("offer", { type: pc.localDescription.type, sdp: pc.localDescription.sdp });
  }

  function update(data) {
    call.me = data.me;
    call.peer = data.peer;
    root.dataset.me = data.me;
    root.dataset.peerState = data.peer;
    if (seat === "therapist") {
      admitBox.hidden = data.peer !== "waiting";
      if (data.peer === "waiting") say(text("peer_waiting"));
      else if (data.peer === "absent") say(text("waiting_for_join"));
      else if (data.peer === "admitted" && !call.pc) say(text("connecting"));
    } else if (data.me === "waiting") {
      say(text("waiting_for_admit"));
    } else if (data.me === "admitted" && data.peer === "admitted" && !call.pc) {
      return offer();
    }
    return undefined;
  }

  async function poll() {
    if (stopped) return;
    try {
      const data = await request("GET", `${root.dataset.signals}?after=${after}`);
      for (const signal of data.signals) {
        after = Math.max(after, signal.id);
        await handle(signal);
      }
      if (!stopped) await update(data);
    } catch (error) {
      if (!handleError(error)) return;
    }
    if (!stopped) setTimeout(poll, POLL_MS);
  }

  function stop() {
    stopped = true;
    closePeer();
    setConnection("closed");
    if (stream) for (const track of stream.getTracks()) track.stop();
    admitBox.hidden = true;
    hangup.hidden = true;
    rejoin.href = window.location.href;
    rejoin.hidden = false;
  }

  admitButton.addEventListener("click", async () => {
    admitButton.disabled = true;
    try {
      update(await request("POST", root.dataset.admit, {}));
    } catch (error) {
      handleError(error);
    } finally {
      admitButton.disabled = false;
    }
  });

  hangup.addEventListener("click", async () => {
    stop();
    await send("bye", { joined });
    say(text("you_left"));
  });

  // Closing the tab or leaving the page counts as hanging up, so the other side knows at once.
  window.addEventListener("pagehide", () => {
    if (stopped || !joined) return;
    fetch(root.dataset.signals, {
      method: "POST",
      keepalive: true,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "X-Room-Pass": root.dataset.pass },
      body: JSON.stringify({ kind: "bye", payload: { joined } }),
    });
  });

  for (const button of root.querySelectorAll("[data-toggle]")) {
    button.addEventListener("click", () => {
      const video = button.dataset.toggle === "video";
      const tracks = stream ? (video ? stream.getVideoTracks() : stream.getAudioTracks()) : [];
      if (!tracks.length) return;
      const on = !tracks[0].enabled;
      for (const track of tracks) track.enabled = on;
      button.textContent = texts[video ? (on ? "camera_off" : "camera_on") : on ? "mic_off" : "mic_on"];
    });
  }

  (async () => {
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
      localVideo.srcObject = stream;
    } catch (error) {
      mediaNote.textContent = text("no_media");
      mediaNote.hidden = false;
      for (const button of root.querySelectorAll("[data-toggle]")) button.disabled = true;
    }
    try {
      const data = await request("POST", root.dataset.join, {});
      after = data.after;
      joined = data.joined;
      await update(data);
    } catch (error) {
      if (!handleError(error)) return;
    }
    poll();
  })();
}
