//! The WebAssembly surface: model-file bytes in, a typed trace out. Everything else (drawing,
//! decoding images to RGBA) happens in the page, so this boundary stays thin.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::exec::{Mode, Options};
use crate::preprocess;
use crate::trace::Trace;

fn js_err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

fn to_js<T: Serialize>(v: &T) -> Result<JsValue, JsError> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(js_err)
}

#[wasm_bindgen(module = "/src/wasm_trace.js")]
extern "C" {
    #[wasm_bindgen(js_name = completeTrace)]
    fn complete_trace(head: &JsValue, nums: &[f64], lists: &[f32]);
}

/// The numbers `complete_trace` reads per block (src/wasm_trace.js's `NUMS_PER_BLOCK`).
const NUMS_PER_BLOCK: usize = 13;

/// A trace as the JavaScript object `to_js` would make of it, field for field, ≈ 4× faster: serde
/// crosses the boundary once or more per number, and a ResNet-56 trace holds thousands (every
/// block's kept channels, scales and C-Net values). Here serde writes the few top-level fields and
/// the blocks and logits cross as two arrays of numbers, which `completeTrace`
/// (src/wasm_trace.js) turns into the same objects.
fn trace_to_js(mut trace: Trace) -> Result<JsValue, JsError> {
    let blocks = std::mem::take(&mut trace.blocks);
    let logits = std::mem::take(&mut trace.logits);
    let head = to_js(&trace)?;
    let mut nums = Vec::with_capacity(blocks.len() * NUMS_PER_BLOCK);
    let mut lists = Vec::new();
    for b in &blocks {
        let flag = |on: bool| if on { 1.0 } else { 0.0 };
        nums.extend_from_slice(&[
            b.stage as f64,
            b.index as f64,
            flag(b.executed),
            b.s_l.map_or(0.0, f64::from),
            b.channels_total as f64,
            b.kept.len() as f64,
            b.macs as f64,
            b.macs_gates as f64,
            b.macs_static as f64,
            b.out_hw as f64,
            b.forced.map_or(-1.0, flag),
            flag(b.s_c.is_some()),
            flag(b.s_l.is_some()),
        ]);
        // channel indices are far below 2^24, exact in f32
        lists.extend(b.kept.iter().map(|&k| k as f32));
        lists.extend_from_slice(&b.scales);
        lists.extend_from_slice(b.s_c.as_deref().unwrap_or_default());
    }
    lists.extend_from_slice(&logits);
    complete_trace(&head, &nums, &lists);
    Ok(head)
}

/// Options as they come from JavaScript; every field optional.
#[derive(serde::Deserialize, Default)]
struct JsOptions {
    mode: Option<String>,
    tau_l: Option<f32>,
    tau_c: Option<f32>,
    top_k: Option<usize>,
    force_on: Option<Vec<String>>,
    force_off: Option<Vec<String>>,
}

/// `["2.3", "1.0"]` → block references, or the reason one is not.
fn block_refs(v: Option<Vec<String>>) -> Result<Vec<crate::exec::BlockRef>, JsError> {
    v.unwrap_or_default()
        .iter()
        .map(|s| s.parse().map_err(js_err))
        .collect()
}

/// What an image file's header says — `{format, size: [width, height] | null}` — or an error
/// with the CLI's words for the same file (empty, too large, not a supported format, too many
/// pixels). `head`: the file's first bytes (a prefix suffices); `file_len`: its whole length.
#[wasm_bindgen(js_name = inspectImage)]
pub fn inspect_image(head: &[u8], file_len: f64) -> Result<JsValue, JsError> {
    let len = if file_len.is_finite() && file_len >= 0.0 {
        file_len as u64
    } else {
        return Err(js_err(format!("invalid file length {file_len}")));
    };
    to_js(&crate::image_header::inspect(head, len).map_err(js_err)?)
}

/// Throws the CLI's message for decoded dimensions it refuses (no pixels, too many, a side too long).
#[wasm_bindgen(js_name = checkImageSize)]
pub fn check_image_size(width: u32, height: u32) -> Result<(), JsError> {
    crate::image_header::check_dimensions(width, height).map_err(js_err)
}

/// How many bytes from the start of a model file `readCard` needs, given its first 8 bytes at
/// least (`undefined` for fewer): the page fetches that much of another model and no more.
#[wasm_bindgen(js_name = cardHeadLen)]
pub fn card_head_len(head: &[u8]) -> Option<f64> {
    crate::model::file::card_head_len(head).map(|n| n as f64)
}

/// The model card of a model file from its first `cardHeadLen` bytes and its whole length (its
/// tensors are not fetched): for the chart, which shows other models' measured points. Throws if
/// there is no valid card or the header does not describe a file of that length.
#[wasm_bindgen(js_name = readCard)]
pub fn read_card(head: &[u8], file_len: f64) -> Result<JsValue, JsError> {
    to_js(&crate::model::file::read_card_head(head, file_len as u64).map_err(js_err)?)
}

/// A loaded model.
#[wasm_bindgen]
pub struct Model {
    net: crate::Classifier,
}

#[wasm_bindgen]
impl Model {
    /// Loads and validates an lcnet model file; throws with the reason if it is not one.
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: &[u8]) -> Result<Model, JsError> {
        console_error_panic_hook::set_once();
        Ok(Model {
            net: crate::Classifier::load(bytes).map_err(js_err)?,
        })
    }

    /// The model card plus derived facts (parameters, static MACs, block list).
    pub fn info(&self) -> Result<JsValue, JsError> {
        to_js(&crate::info::ModelInfo::of(&self.net))
    }

    /// Throws unless `reference` can stand for this model's static network (same architecture,
    /// classes and input pre-processing): the check `lcnet eval` makes of the `static_reference`
    /// a card names.
    #[wasm_bindgen(js_name = checkStaticReference)]
    pub fn check_static_reference(&self, reference: &Model) -> Result<(), JsError> {
        self.net
            .card
            .check_static_reference(&reference.net.card)
            .map_err(js_err)
    }

    /// Classifies `width × height` RGBA pixels. `options`: `{mode: "static"|"l"|"c"|"lc",
    /// tau_l, tau_c, top_k, force_on: ["2.3", …], force_off: [...]}`, each optional (defaults
    /// from the model card; forced blocks run or are skipped whatever their L-Net says).
    pub fn classify(
        &self,
        rgba: &[u8],
        width: u32,
        height: u32,
        options: JsValue,
    ) -> Result<JsValue, JsError> {
        trace_to_js(self.run(rgba, width, height, options, crate::Classifier::classify)?)
    }

    /// [`Model::classify`] on the reference path (candle's stock convolutions on sliced
    /// weights), for benchmarks: same result within 1e-4, slower.
    #[cfg(feature = "stock-wasm")]
    #[wasm_bindgen(js_name = classifyReference)]
    pub fn classify_reference(
        &self,
        rgba: &[u8],
        width: u32,
        height: u32,
        options: JsValue,
    ) -> Result<JsValue, JsError> {
        trace_to_js(self.run(
            rgba,
            width,
            height,
            options,
            |c: &crate::Classifier, x: &[f32], o: &Options| c.classify_reference(x, o),
        )?)
    }

    /// Where [`Model::classify`]'s pass spends its time, part by part and block by block
    /// (`lcnet bench --json`'s split, measured in the browser), for benchmarks.
    #[cfg(feature = "stock-wasm")]
    #[wasm_bindgen(js_name = timeSplit)]
    pub fn time_split(
        &self,
        rgba: &[u8],
        width: u32,
        height: u32,
        options: JsValue,
    ) -> Result<JsValue, JsError> {
        to_js(&self.run(rgba, width, height, options, crate::Classifier::time_split)?)
    }

    /// What the network sees for these pixels (the centre square at the input size, before
    /// normalisation), as an `ImageData` the page draws with `putImageData`.
    pub fn preview(
        &self,
        rgba: &[u8],
        width: u32,
        height: u32,
    ) -> Result<web_sys::ImageData, JsError> {
        let spec = &self.net.card.input;
        let input = preprocess::to_input(rgba, width, height, 4, spec).map_err(js_err)?;
        let pixels: Vec<u8> = preprocess::preview(&input, spec)
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect();
        let side = spec.size as u32;
        // A copy owned by JavaScript (not a view of wasm memory), so the worker can transfer it.
        let data = js_sys::Uint8ClampedArray::from(&pixels[..]);
        web_sys::ImageData::new_with_js_u8_clamped_array_and_sh(&data, side, side)
            .map_err(|e| js_err(format!("cannot make the preview image: {e:?}")))
    }
}

impl Model {
    /// Pre-processes RGBA pixels and runs them through `engine`.
    fn run<T>(
        &self,
        rgba: &[u8],
        width: u32,
        height: u32,
        options: JsValue,
        engine: fn(&crate::Classifier, &[f32], &Options) -> crate::Result<T>,
    ) -> Result<T, JsError> {
        let opts = self.options(options)?;
        let input =
            preprocess::to_input(rgba, width, height, 4, &self.net.card.input).map_err(js_err)?;
        engine(&self.net, &input, &opts).map_err(js_err)
    }

    fn options(&self, options: JsValue) -> Result<Options, JsError> {
        let js: JsOptions = if options.is_undefined() || options.is_null() {
            JsOptions::default()
        } else {
            serde_wasm_bindgen::from_value(options)
                .map_err(|e| js_err(format!("invalid options: {e}")))?
        };
        let mode = js
            .mode
            .map(|m| m.parse::<Mode>())
            .transpose()
            .map_err(js_err)?;
        let changes = crate::OptionOverrides {
            mode,
            tau_l: js.tau_l,
            tau_c: js.tau_c,
            top_k: js.top_k,
            force_on: block_refs(js.force_on)?,
            force_off: block_refs(js.force_off)?,
        };
        self.net.options(&changes).map_err(js_err)
    }
}
