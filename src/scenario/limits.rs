//! Limits on every magnitude in a scenario file, far beyond real planning.
//!
//! The engine counts units in 32-bit integers and sizes its rings by shelf life and transport
//! time, so an absurd but finite number (a horizon of 10^8 days, a shelf life of 10^10 days,
//! a demand of 10^9 requests a day) would otherwise exhaust memory, loop for hours, or wrap a
//! counter silently. Validation rejects anything beyond these limits with a located error
//! naming the limit. Each limit is at least ten times what a real plan needs.

/// Simulated days, warm-up included: a century.
pub const MAX_HORIZON_DAYS: f64 = 36_500.0;
/// Shelf life in days: ten years (frozen plasma keeps up to 3 years, frozen red cells 10).
pub const MAX_SHELF_LIFE_DAYS: f64 = 3_650.0;
/// Transport (`links.hours`) and lab processing (`processing_hours`) in hours: about 12 weeks.
pub const MAX_DELAY_HOURS: f64 = 2_000.0;
/// Mean requests or donations a day of one stream, and a lab's capacity per day (Korea's
/// whole national collection is about 8,000 donations a day).
pub const MAX_PER_DAY: f64 = 1e6;
/// Smallest negative-binomial dispersion: below it a day's count is mostly zero with rare
/// bursts of hundreds of times its mean, which no blood service sees.
pub const MIN_DISPERSION: f64 = 0.01;
/// Largest coefficient of variation of a rounded-gamma count (a shape of 1/CV^2 = 0.01).
pub const MAX_CV: f64 = 10.0;
/// A weekday, monthly or holiday multiplier.
pub const MAX_FACTOR: f64 = 100.0;
/// Units of a product from one donation.
pub const MAX_YIELD: f64 = 100.0;
/// Units in an order-up-to level (per group), in an initial stock entry, or in a hospital's
/// largest order.
pub const MAX_STOCK_UNITS: f64 = 1e8;
/// Units of one product demanded (or collected) over a whole run across the network, and in
/// one period at one site, counting calendar multipliers at their peak: a quarter of the
/// 32-bit counters' range, so that no count can wrap. A century of Korea's national red-cell
/// demand is about 2 x 10^8.
pub const MAX_UNITS: f64 = 1e9;
/// `[[alert_levels]]` entries.
pub const MAX_ALERT_LEVELS: usize = 16;
/// Casualties of one mass-casualty incident (the Tehran earthquake model's worst case is
/// a few hundred thousand, facts §6).
pub const MAX_CASUALTIES: f64 = 1e7;
/// `[[events]]` entries (a decade of daily events).
pub const MAX_EVENTS: usize = 4_000;
/// `[[sites]]` entries.
pub const MAX_SITES: usize = 1_000;
/// Replications of a run (`time.replications`, `--replications`).
pub const MAX_REPLICATIONS: u64 = 10_000_000;
/// Size of a scenario file: Korea's national network is 43 KB.
pub const MAX_FILE_BYTES: u64 = 1 << 20;
