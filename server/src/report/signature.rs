//! The customer's signature redrawn from its strokes (device-independent
//! points) as an SVG: one polyline per stroke, fitted to the strokes' own
//! bounding box with a margin, so any pad size draws the same shape.

use doorstep_core::signoff::Stroke;
use std::fmt::Write;

/// Margin around the strokes, in stroke units.
const MARGIN: i32 = 12;

/// The strokes as a standalone SVG document (`None` without any point).
pub fn signature_svg(strokes: &[Stroke]) -> Option<String> {
    let points = strokes.iter().flat_map(|s| s.points.iter());
    let (mut min_x, mut min_y, mut max_x, mut max_y) = (i32::MAX, i32::MAX, i32::MIN, i32::MIN);
    for p in points {
        min_x = min_x.min(p.x);
        min_y = min_y.min(p.y);
        max_x = max_x.max(p.x);
        max_y = max_y.max(p.y);
    }
    if min_x > max_x {
        return None;
    }
    let width = (max_x - min_x).max(1) + 2 * MARGIN;
    let height = (max_y - min_y).max(1) + 2 * MARGIN;
    // A line as thick as a pen relative to the drawing, at least one unit.
    let pen = (width.max(height) / 80).max(2);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"{} {} {width} {height}\" \
         width=\"{width}\" height=\"{height}\">",
        min_x - MARGIN,
        min_y - MARGIN
    );
    for stroke in strokes {
        match stroke.points.as_slice() {
            [] => {}
            [only] => {
                let _ = write!(
                    svg,
                    "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"#1a237e\"/>",
                    only.x,
                    only.y,
                    pen / 2 + 1
                );
            }
            many => {
                let path: Vec<String> = many.iter().map(|p| format!("{},{}", p.x, p.y)).collect();
                let _ = write!(
                    svg,
                    "<polyline points=\"{}\" fill=\"none\" stroke=\"#1a237e\" stroke-width=\"{pen}\" \
                     stroke-linecap=\"round\" stroke-linejoin=\"round\"/>",
                    path.join(" ")
                );
            }
        }
    }
    svg.push_str("</svg>");
    Some(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use doorstep_core::signoff::StrokePoint;

    fn stroke(points: &[(i32, i32)]) -> Stroke {
        Stroke {
            points: points
                .iter()
                .enumerate()
                .map(|(i, &(x, y))| StrokePoint {
                    x,
                    y,
                    t_ms: i as u32 * 10,
                })
                .collect(),
        }
    }

    #[test]
    fn strokes_are_drawn_in_their_own_bounding_box() {
        let svg = signature_svg(&[stroke(&[(100, 50), (300, 150)]), stroke(&[(120, 60)])]).unwrap();
        assert!(svg.contains("viewBox=\"88 38 224 124\""), "{svg}");
        assert!(svg.contains("points=\"100,50 300,150\""), "{svg}");
        assert!(svg.contains("<circle cx=\"120\" cy=\"60\""), "{svg}");
    }

    #[test]
    fn no_points_draw_no_signature() {
        assert_eq!(signature_svg(&[]), None);
        assert_eq!(signature_svg(&[Stroke { points: vec![] }]), None);
    }
}
