//! The demo data set (`--demo`), in Chinese as a center in China would
//! have it (names, addresses, faults): two dispatchers, six technicians with
//! enrolled phones, and assignments in each of the six trades: open ones
//! (one overdue under the 1-hour rule), assigned ones, and visits already
//! done today that went through the real sync path (`http::sync::ingest`), so the
//! board, conflicts, callbacks, reconciliation (clean: every visit is by the
//! book) and KPIs show something at once.
//! Every visit is recorded the way a phone records it: command by command
//! through the core's workflow (`doorstep_core::walkthrough`), so the demo
//! holds no fact the rules would refuse. Each photo the standard asks for
//! is a real (generated) JPEG whose bytes the server holds, as if the phone
//! had uploaded them, so reports and the console show pictures. Loading
//! twice does nothing the second time.

use crate::app::AppState;
use crate::auth::{hash_password, Role};
use crate::domain::assignments::{
    assign_tx, cancel_tx, insert_assignment, AssignRequest, CancelRequest, NewAssignment,
};
use crate::domain::roster::{enrol, insert_technician, NewTechnician};
use crate::http::error::{ApiError, ApiResult};
use crate::http::sync::ingest;
use crate::model::Classification;
use crate::store::blobs::{self, Appended, BlobRow};
use crate::store::users::insert_user;
use crate::store::Tx;
use crate::time::now_ms;
use chrono::{Duration, Utc};
use doorstep_core::assignment::{Customer, OrderLine, Product, Warranty};
use doorstep_core::location::GeoPoint;
use doorstep_core::photos::content_type_of;
use doorstep_core::protocol::{OutboxEvent, PushRequest, PROTOCOL_VERSION};
use doorstep_core::signoff::Ratings;
use doorstep_core::walkthrough::Walkthrough;
use doorstep_core::workflow::command::{PaymentMethod, ReceiptRecord};
use doorstep_core::{DeviceId, TechnicianId, TimeWindow, TradeId};
use doorstep_core::{Playbook, VisitCommand};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The demo phones' camera: a 480×360 JPEG per photo moment, a simple
/// scene (a wall, a floor, an appliance lit from the left) tinted by the
/// moment's name so each moment looks different. Made once per process.
fn demo_camera(moment: &str) -> (Vec<u8>, u32, u32) {
    static TAKEN: Mutex<BTreeMap<String, Vec<u8>>> = Mutex::new(BTreeMap::new());
    let (w, h) = (480, 360);
    let mut taken = TAKEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let bytes = taken.entry(moment.to_string()).or_insert_with(|| {
        let tint = moment
            .bytes()
            .fold(7u32, |a, b| a.wrapping_mul(31).wrapping_add(u32::from(b)));
        let [tr, tg, tb] = [tint % 60, (tint / 60) % 60, (tint / 3600) % 60];
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            let light = 200 - (x * 60 / w);
            let (r, g, b) = if y > h * 3 / 4 {
                (150, 120, 90) // floor
            } else if (x > w / 3 && x < w * 2 / 3) && y > h / 5 {
                (60 + tr, 70 + tg, 80 + tb) // the appliance
            } else {
                (light, light, light - 10) // wall
            };
            let shade = |c: u32| (c * light / 200).min(255) as u8;
            image::Rgb([shade(r), shade(g), shade(b)])
        });
        let mut out = Vec::new();
        // Encoding an in-memory picture of fixed size cannot fail.
        let _ = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80).encode_image(&img);
        out
    });
    (bytes.clone(), w, h)
}

/// Puts the demo camera's picture of every photo moment of the shipped
/// playbooks into the blob store as an upload would, before the demo's
/// transaction (the blob store is not reached from inside one).
async fn store_demo_pictures(state: &AppState) -> ApiResult<()> {
    let moments: std::collections::BTreeSet<String> = Playbook::shipped()
        .iter()
        .flat_map(|p| p.photos.iter().map(|m| m.id.clone()))
        .collect();
    for moment in moments {
        let bytes = demo_camera(&moment).0;
        let digest = doorstep_core::canonical::sha256_hex(&bytes);
        let size = bytes.len() as u64;
        if !matches!(
            state.blobs.append(&digest, 0, bytes.into(), size).await?,
            Appended::Whole { .. }
        ) {
            return Err(ApiError::internal("storing a demo photo"));
        }
    }
    Ok(())
}

/// Records the demo photos as the upload would once whole (their bytes
/// were put by [`store_demo_pictures`]).
async fn store_demo_photos(tx: &mut dyn Tx, walk: &Walkthrough, device: &str) -> ApiResult<()> {
    for photo in &walk.state.photos {
        let Some(bytes) = walk.picture(&photo.moment) else {
            continue;
        };
        if blobs::stored_blob(tx, &photo.digest).await?.is_some() {
            continue;
        }
        let size = bytes.len() as u64;
        let row = BlobRow {
            digest: photo.digest.clone(),
            size_bytes: size,
            content_type: content_type_of(&bytes).to_string(),
            device_id: device.to_string(),
            stored_at: now_ms(),
        };
        blobs::insert_blob(tx, &row).await?;
    }
    Ok(())
}

/// The password of the demo dispatchers.
pub const DEMO_PASSWORD: &str = "doorstep-demo";

/// What the demo created, for the start-up message.
#[derive(Debug, Default)]
pub struct DemoSummary {
    pub already_loaded: bool,
    pub dispatchers: Vec<String>,
    /// (device id, technician id, token)
    pub devices: Vec<(String, String, String)>,
    pub assignments: usize,
    pub visits: usize,
}

const TECHNICIANS: &[(&str, &str, &[&str])] = &[
    ("T-wang", "王磊", &["appliance_repair", "computer_repair"]),
    ("T-zhao", "赵敏", &["water_delivery"]),
    ("T-chen", "陈静", &["home_care"]),
    (
        "T-liu",
        "刘洋",
        &["property_maintenance", "heating_service"],
    ),
    ("T-sun", "孙浩", &["appliance_repair", "heating_service"]),
    ("T-zhou", "周琪", &["computer_repair"]),
];

/// (trade, customer, phone, address, model, fault)
const REQUESTS: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "appliance_repair",
        "黄梅",
        "138 0013 8001",
        "静安区武定路 12 号",
        "海尔 BCD-216",
        "冰箱不制冷",
    ),
    (
        "appliance_repair",
        "徐刚",
        "139 1111 2222",
        "徐汇区长乐路 88 号",
        "美的 MG70",
        "洗衣机门口漏水",
    ),
    (
        "computer_repair",
        "马丽",
        "137 2222 3333",
        "徐汇区安福路 5 号",
        "联想 ThinkPad E14",
        "无法开机",
    ),
    (
        "computer_repair",
        "郭伟",
        "136 3333 4444",
        "长宁区愚园路 41 号",
        "惠普 Pavilion 15",
        "运行很慢，风扇声音大",
    ),
    (
        "water_delivery",
        "何芳",
        "135 4444 5555",
        "静安区巨鹿路 9 号",
        "18.9 升桶装水",
        "两桶水，安装饮水机",
    ),
    (
        "water_delivery",
        "林涛",
        "134 5555 6666",
        "黄浦区复兴路 230 号",
        "18.9 升桶装水",
        "一桶水",
    ),
    (
        "home_care",
        "罗秀",
        "133 6666 7777",
        "徐汇区天平路 17 号",
        "护理套餐 B",
        "每周护理上门",
    ),
    (
        "home_care",
        "宋英",
        "132 7777 8888",
        "徐汇区衡山路 3 号",
        "护理套餐 A",
        "协助洗浴和用餐",
    ),
    (
        "property_maintenance",
        "邓军",
        "131 8888 9999",
        "康定路 66 号 4 号楼",
        "—",
        "楼道灯不亮",
    ),
    (
        "property_maintenance",
        "冯兰",
        "130 9999 0000",
        "延平路 10 号 2 号楼",
        "—",
        "水表滴水",
    ),
    (
        "heating_service",
        "曹瑞",
        "150 1234 5678",
        "长宁区新华路 21 号",
        "壁挂炉 WB-24",
        "暖气片不热",
    ),
    (
        "heating_service",
        "彭波",
        "151 2345 6789",
        "长宁区番禺路 8 号",
        "壁挂炉 WB-18",
        "水压下降",
    ),
];

/// What a water delivery brings: one bottle (the workflow inspects each).
fn order_for(trade: &str) -> Vec<OrderLine> {
    match trade {
        "water_delivery" => vec![OrderLine {
            item: "bottle_18_9l".into(),
            qty: 1,
        }],
        _ => vec![],
    }
}

/// The care items a home-care visit plans (a required field of the trade).
fn service_items_for(trade: &str) -> Vec<String> {
    match trade {
        "home_care" => vec!["personal_care".into(), "health_check".into()],
        _ => vec![],
    }
}

fn tech_for(trade: &str) -> &'static str {
    TECHNICIANS
        .iter()
        .find(|(_, _, trades)| trades.contains(&trade))
        .map_or("T-wang", |t| t.0)
}

/// Collects exactly what is due, in cash, with a receipt.
fn pay_cash(b: &mut Walkthrough) -> ApiResult<()> {
    let amount = b.state.amount_due().unwrap_or(0);
    let visit = b.visit.to_string();
    let number = format!("SJ-{}", &visit[visit.len() - 8..]);
    b.apply(
        5,
        VisitCommand::CollectPayment {
            amount,
            method: PaymentMethod::Cash,
            receipt: ReceiptRecord::Receipt { number },
            qr: None,
        },
        None,
        None,
    )
    .map_err(|_| ApiError::internal("demo cash payment"))?;
    Ok(())
}

/// Loads the demo data unless technicians already exist.
pub async fn load(state: &AppState) -> ApiResult<DemoSummary> {
    let hash = {
        let pw = DEMO_PASSWORD.to_string();
        tokio::task::spawn_blocking(move || hash_password(&pw))
            .await
            .map_err(|_| ApiError::internal("hashing the demo password"))?
    };
    store_demo_pictures(state).await?;
    let st = state.clone();
    state
        .db
        .tx(move |tx| Box::pin(async move { load_tx(tx, &st, &hash).await }))
        .await
}

async fn load_tx(tx: &mut dyn Tx, state: &AppState, hash: &str) -> ApiResult<DemoSummary> {
    let mut summary = DemoSummary::default();
    if tx
        .query_opt("SELECT 1 FROM technicians LIMIT 1", &[])
        .await?
        .is_some()
    {
        summary.already_loaded = true;
        return Ok(summary);
    }
    for name in ["li.na", "zhang.wei"] {
        if tx
            .query_opt("SELECT 1 FROM users WHERE username = $1", &[name.into()])
            .await?
            .is_none()
        {
            insert_user(tx, name, hash, Role::Dispatcher).await?;
        }
        summary.dispatchers.push(name.to_string());
    }
    let actor = "user:demo";
    for (k, (id, name, trades)) in TECHNICIANS.iter().enumerate() {
        insert_technician(
            tx,
            state,
            &NewTechnician {
                id: TechnicianId::new(*id).map_err(|_| ApiError::internal("demo id"))?,
                name: (*name).into(),
                phone: Some(format!("400 820 {:04}", 1001 + k)),
                trades: trades
                    .iter()
                    .filter_map(|t| TradeId::new(*t).ok())
                    .collect(),
            },
        )
        .await?;
        let device = format!("phone-{}", id.trim_start_matches("T-"));
        let token = enrol(tx, id, &device, false, actor).await?;
        summary.devices.push((device, (*id).to_string(), token));
    }

    let now = Utc::now();
    // The served visits (received 7 h ago, closed within the next 5 h) all
    // fall in one business day: today's when it began 7 h ago or more,
    // otherwise wholly in yesterday's, never split across midnight (the
    // day's reconciliation then counts all of them or none).
    let today_starts = state.zone.day_bounds(state.zone.date_of(now)).0;
    let served_received = if now - Duration::hours(7) < today_starts {
        today_starts - Duration::hours(7)
    } else {
        now - Duration::hours(7)
    };
    let mut chains: std::collections::HashMap<String, (u64, Option<String>)> = Default::default();
    for (i, (trade, name, phone, address, model, fault)) in REQUESTS.iter().enumerate() {
        // The first request of each trade was served this morning; the second waits.
        let served = i % 2 == 0;
        let received = if served {
            served_received
        } else if i == 1 {
            now - Duration::minutes(95)
        } else {
            now - Duration::minutes(20 + 5 * i as i64)
        };
        let start = if served {
            received + Duration::hours(2)
        } else if i == 7 {
            now + Duration::minutes(25)
        } else {
            // Later today in the business time zone, so the day's list
            // (`doorstep device today`) shows it whatever the hour.
            let today_ends = state.zone.day_bounds(state.zone.date_of(now)).1;
            (now + Duration::hours(3))
                .min(today_ends - Duration::minutes(1))
                .max(now + Duration::minutes(1))
        };
        let location = GeoPoint {
            lat: 31.22 + 0.003 * i as f64,
            lon: 121.44 + 0.002 * i as f64,
        };
        let classification = match i {
            4 => Classification::Urgent,
            10 => Classification::Complex,
            _ => Classification::General,
        };
        let a = insert_assignment(
            tx,
            state,
            NewAssignment {
                trade: TradeId::new(*trade).map_err(|_| ApiError::internal("demo trade"))?,
                customer: Customer {
                    name: Some((*name).into()),
                    phone: Some((*phone).into()),
                    address: Some((*address).into()),
                    location: Some(location),
                    time_zone: Some("Asia/Shanghai".into()),
                },
                product: Product {
                    model: Some((*model).into()),
                    serial: None,
                    purchase_date: Some(received.date_naive() - Duration::days(400)),
                    installed_on: None,
                    warranty: Warranty::OutOfWarranty,
                },
                fault_description: Some((*fault).into()),
                requested_window: Some(TimeWindow {
                    start,
                    end: start + Duration::hours(2),
                }),
                received_at: Some(received),
                order: order_for(trade),
                service_items: service_items_for(trade),
                notes: None,
                classification: Some(classification),
            },
            actor,
        )
        .await?;
        summary.assignments += 1;
        let id = a.assignment.id.to_string();
        if i == 1 || i == 3 {
            continue; // left open: i == 1 is overdue (1-hour rule)
        }
        let tech = tech_for(trade);
        let assigned = assign_tx(
            tx,
            &id,
            &AssignRequest {
                technician: TechnicianId::new(tech).map_err(|_| ApiError::internal("demo id"))?,
                window_confirmed: Some(served),
                expected_version: None,
            },
            actor,
        )
        .await?;
        if !served && i != 7 {
            continue;
        }
        // Play the technician's phone: record the visit and sync it.
        let pb = state
            .playbook(trade)
            .ok_or_else(|| ApiError::internal("demo playbook"))?;
        let device = format!("phone-{}", tech.trim_start_matches("T-"));
        let device_id = DeviceId::new(device.clone()).map_err(|_| ApiError::internal("demo id"))?;
        let (seq, chain) = chains.entry(device.clone()).or_default();
        let mut b = Walkthrough::new(
            pb,
            &assigned.assignment,
            &device_id,
            received + Duration::minutes(10),
        )
        .with_camera(demo_camera);
        // The customer reads out the acceptance code the center sent.
        if let Some(issued) = crate::store::acceptance_codes::of_assignment(tx, &id).await? {
            b = b.with_acceptance_code(&issued.code);
        }
        if i == 7 {
            // On site half an hour ahead of the window when the customer
            // cancels: a conflict.
            b.go_early(30);
        } else {
            let late = (i == 6).then_some(20);
            let ratings = if i == 8 {
                Ratings {
                    quality: 3,
                    attitude: 4,
                }
            } else {
                Ratings {
                    quality: 5,
                    attitude: 5,
                }
            };
            // Every demo visit is by the book: the day reconciles clean
            // (the README walk checks it). 黄梅 and 邓军 pay in cash: it is
            // on 王磊's and 刘洋's cash ledgers until they remit it.
            b.go(late).repair();
            if i == 0 || i == 8 {
                pay_cash(&mut b)?;
            } else {
                b.pay();
            }
            b.sign(ratings, None, chain).leave();
        }
        let events = b
            .events
            .iter()
            .map(|e| {
                *seq += 1;
                OutboxEvent {
                    seq: *seq,
                    event: e.clone(),
                }
            })
            .collect();
        ingest(
            tx,
            state,
            &device,
            tech,
            &PushRequest {
                protocol_version: PROTOCOL_VERSION,
                device_id,
                sent_at: Some(Utc::now()),
                events,
            },
            now_ms(),
        )
        .await?;
        store_demo_photos(tx, &b, &device).await?;
        summary.visits += 1;
        if i == 7 {
            cancel_tx(
                tx,
                state,
                &id,
                &CancelRequest {
                    reason: "客户来电取消".into(),
                    expected_version: None,
                },
                actor,
            )
            .await?;
        }
    }
    Ok(summary)
}
