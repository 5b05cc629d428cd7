//! The thin cpal layer: enumerate, open, and a data callback that hands buffers to [`dsp`] and
//! chunks to the queue. Everything with logic in it lives in [`select`], [`dsp`] and [`queue`].

use crate::dsp::{Chunker, Resampler, downmix, first_sample_instant};
use crate::queue::DropOldestQueue;
use crate::select::{ConfigRange, choose, pick_config};
use crate::{CHUNK_SAMPLES, MicCapture, MicError, MicId, MicInfo, QUEUE_CHUNKS};
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{Device, ErrorKind, FromSample, InputCallbackInfo, SampleFormat, SizedSample};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn backend(context: &str, e: impl std::fmt::Display) -> MicError {
    MicError::Backend {
        context: context.to_string(),
        reason: e.to_string(),
    }
}

fn device_name(d: &Device) -> String {
    d.description()
        .map(|desc| desc.name().to_string())
        .unwrap_or_else(|_| d.to_string())
}

/// Every input device with its description, the default marked.
fn devices() -> Result<Vec<(MicInfo, Device)>, MicError> {
    let host = cpal::default_host();
    let default_id = host.default_input_device().and_then(|d| d.id().ok());
    let mut out = Vec::new();
    for d in host
        .input_devices()
        .map_err(|e| backend("listing input devices", e))?
    {
        // A device that cannot say what it supports is listed without formats, not hidden.
        let ranges: Vec<_> = d
            .supported_input_configs()
            .map(|it| it.collect())
            .unwrap_or_default();
        let mut sample_rates: Vec<_> = ranges
            .iter()
            .map(|r| r.min_sample_rate()..=r.max_sample_rate())
            .collect();
        sample_rates.dedup();
        let info = MicInfo {
            name: device_name(&d),
            id: d.id().map(|id| id.id().to_string()).unwrap_or_default(),
            is_default: default_id.is_some() && d.id().ok() == default_id,
            channels: ranges.iter().map(|r| r.channels()).max().unwrap_or(0),
            sample_rates,
        };
        out.push((info, d));
    }
    Ok(out)
}

pub fn list() -> Result<Vec<MicInfo>, MicError> {
    Ok(devices()?.into_iter().map(|(info, _)| info).collect())
}

pub fn open(which: &MicId) -> Result<MicCapture, MicError> {
    let mut all = devices()?;
    let infos: Vec<MicInfo> = all.iter().map(|(i, _)| i.clone()).collect();
    let (info, device) = all.swap_remove(choose(&infos, which)?);
    let name = info.name;
    let unusable = |reason: String| MicError::Unusable {
        name: name.clone(),
        reason,
    };
    let ranges: Vec<_> = device
        .supported_input_configs()
        .map_err(|e| unusable(format!("cannot list its formats: {e}")))?
        .collect();
    let offers: Vec<ConfigRange> = ranges
        .iter()
        .map(|r| ConfigRange {
            channels: r.channels(),
            min_rate: r.min_sample_rate(),
            max_rate: r.max_sample_rate(),
            float: r.sample_format().is_float(),
        })
        .collect();
    let (index, rate) =
        pick_config(&offers).ok_or_else(|| unusable("it offers no capture format".into()))?;
    let supported = ranges[index].with_sample_rate(rate);
    let format = supported.sample_format();
    let config = supported.config();
    let queue = Arc::new(DropOldestQueue::new(QUEUE_CHUNKS));
    let stream = match format {
        SampleFormat::F32 => build::<f32>(&device, config, &queue, &name),
        SampleFormat::I16 => build::<i16>(&device, config, &queue, &name),
        SampleFormat::I32 => build::<i32>(&device, config, &queue, &name),
        SampleFormat::U16 => build::<u16>(&device, config, &queue, &name),
        SampleFormat::U8 => build::<u8>(&device, config, &queue, &name),
        SampleFormat::I8 => build::<i8>(&device, config, &queue, &name),
        SampleFormat::F64 => build::<f64>(&device, config, &queue, &name),
        other => return Err(unusable(format!("sample format {other} is not supported"))),
    }?;
    stream
        .play()
        .map_err(|e| unusable(format!("cannot start capturing: {e}")))?;
    Ok(MicCapture {
        device_rate: config.sample_rate,
        device_channels: config.channels,
        name,
        queue,
        _stream: stream,
    })
}

/// Builds the input stream for samples of type `T`.
fn build<T>(
    device: &Device,
    config: cpal::StreamConfig,
    queue: &Arc<DropOldestQueue>,
    name: &str,
) -> Result<cpal::Stream, MicError>
where
    T: SizedSample,
    f32: FromSample<T>,
{
    let channels = usize::from(config.channels.max(1));
    let rate = config.sample_rate;
    let mut resampler = Resampler::new(rate);
    let mut chunker = Chunker::new(CHUNK_SAMPLES);
    let (mut floats, mut mono, mut resampled) = (Vec::new(), Vec::new(), Vec::new());
    let q = queue.clone();
    let data = move |data: &[T], info: &InputCallbackInfo| {
        let arrival = Instant::now();
        let ts = info.timestamp();
        let delay = ts.callback.checked_duration_since(ts.capture);
        let frames = data.len() / channels;
        let first = first_sample_instant(arrival, delay, frames, rate);
        floats.clear();
        floats.extend(data.iter().map(|s| s.to_sample::<f32>()));
        mono.clear();
        downmix(&floats, channels, &mut mono);
        resampled.clear();
        resampler.push(&mono, &mut resampled);
        chunker.push(&resampled, first, |chunk| q.push(chunk));
    };
    let q = queue.clone();
    let error = move |e: cpal::Error| match e.kind() {
        // Passing trouble: the stream goes on.
        ErrorKind::Xrun | ErrorKind::DeviceChanged | ErrorKind::RealtimeDenied => {}
        _ => q.end(e.to_string()),
    };
    device
        .build_input_stream::<T, _, _>(config, data, error, Some(Duration::from_secs(5)))
        .map_err(|e| MicError::Unusable {
            name: name.to_string(),
            reason: format!(
                "cannot open {} Hz x {} channels: {e}",
                config.sample_rate, config.channels
            ),
        })
}
