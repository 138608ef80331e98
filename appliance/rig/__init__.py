"""Driving the appliance from outside: what the tests, the benchmarks, ``scripts/demo`` and
``scripts/check-pi`` share.

* :mod:`~appliance.rig.process`: ``appliance run`` as a child process, waiting on conditions
  and states with a deadline, a clean child environment, memory readings;
* :mod:`~appliance.rig.sim`: the simulator as a process;
* :mod:`~appliance.rig.inprocess`: the appliance's worker (or its state machine) in this
  process;
* :mod:`~appliance.rig.isolation`: a private ``/dev/shm`` for the processes started;
* :mod:`~appliance.rig.sound`: the virtual sound server, ``pactl``, recording its sinks;
* :mod:`~appliance.rig.xdisplay`: Xvfb and reading the X server (windows, frames, pixels);
* :mod:`~appliance.rig.speech`: synthetic and espeak-ng speech as WAV files;
* :mod:`~appliance.rig.echo`: a speaker fed back into the microphone on the sound server;
* :mod:`~appliance.rig.prometheus`: a real Prometheus and node_exporter on loopback ports;
* :mod:`~appliance.rig.wakeset`: a wake word test set (espeak-ng speech in noise), cached;
* :mod:`~appliance.rig.browser`: the browser kiosk (Chromium showing Deep Chat) for comparison;
* :mod:`~appliance.rig.cache`: where the benchmarks keep what is slow to make.

Nothing here is imported by ``appliance run`` itself.
"""
