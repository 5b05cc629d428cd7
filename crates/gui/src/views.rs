//! Drawing only: each section reads the model and turns clicks into calls on the app.

use crate::app::GuiApp;
use crate::settings::{RATES, SIZES, Video};
use crate::state::{Entry, Phase, RunInfo};
use eframe::egui::{self, Color32, RichText};

const RED: Color32 = Color32::from_rgb(220, 50, 50);

/// The whole window.
pub fn show(ui: &mut egui::Ui, app: &mut GuiApp) {
    egui::CentralPanel::default_margins().show(ui, |ui| {
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                controls(ui, app);
                messages(ui, app);
                network(ui, app);
                ui.separator();
                if let Phase::Running(info) = &app.model.phase {
                    let info = info.clone();
                    running(ui, app, &info);
                    ui.separator();
                }
                ui.add_enabled_ui(app.model.editable(), |ui| {
                    share(ui, app);
                    ui.separator();
                    live(ui, app);
                    ui.separator();
                    login(ui, app);
                });
                ui.separator();
                request_log(ui, app);
            });
    });
}

fn controls(ui: &mut egui::Ui, app: &mut GuiApp) {
    ui.horizontal(|ui| {
        let (label, enabled) = app.model.button();
        let button =
            egui::Button::new(RichText::new(label).size(20.0)).min_size([110.0, 34.0].into());
        if ui.add_enabled(enabled, button).clicked() {
            app.press();
        }
        ui.add_enabled_ui(app.model.editable(), |ui| {
            let label = ui.label("Port");
            ui.add(
                egui::TextEdit::singleline(&mut app.port_text)
                    .desired_width(60.0)
                    .hint_text("8000"),
            )
            .labelled_by(label.id)
            .on_hover_text("empty: 8000, or the next free port up to 8009");
            ui.checkbox(&mut app.model.settings.login, "Login");
            ui.checkbox(&mut app.model.settings.https, "HTTPS")
                .on_hover_text("a self-signed certificate, kept between runs");
        });
    });
}

fn messages(ui: &mut egui::Ui, app: &mut GuiApp) {
    if let Some(e) = &app.model.error {
        ui.colored_label(RED, e);
    }
    if let Some(n) = &app.model.note {
        ui.label(n);
    }
}

fn network(ui: &mut egui::Ui, app: &GuiApp) {
    if let Some((line, warn)) = app.model.network_line() {
        if warn {
            ui.colored_label(RED, line);
        } else {
            ui.label(line);
        }
    }
    if !matches!(app.model.phase, Phase::Running(_)) {
        let lan = if app.lan.is_empty() {
            "none (only this computer can connect)".to_string()
        } else {
            app.lan.join(", ")
        };
        ui.label(format!("LAN addresses: {lan}"));
    }
}

fn running(ui: &mut egui::Ui, app: &mut GuiApp, info: &RunInfo) {
    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            ui.strong("Open on any device of this network:");
            for url in &info.urls {
                ui.horizontal(|ui| {
                    ui.monospace(url);
                    if ui.small_button("copy").clicked() {
                        ui.ctx().copy_text(url.clone());
                    }
                    if ui.small_button("open in browser").clicked() {
                        ui.ctx().open_url(egui::OpenUrl::new_tab(url));
                    }
                });
            }
            match &info.login {
                Some(f) => ui.label(format!("Login required (users from {f}).")),
                None => ui.label("No login: anyone on this network can watch."),
            };
            if let Some(fp) = &info.fingerprint {
                ui.label(format!("Self-signed certificate, SHA-256 {fp}"));
            }
            for s in &app.model.streams {
                let page = info.urls.first().map_or(String::new(), |u| {
                    format!("{}{}", u.trim_end_matches('/'), s.path)
                });
                ui.label(format!(
                    "live {}: {} viewer(s){}",
                    s.name,
                    s.viewers,
                    if s.now.is_empty() {
                        String::new()
                    } else {
                        format!(" · {}", s.now)
                    }
                ));
                ui.monospace(page);
                if let Some(e) = &s.error {
                    ui.colored_label(RED, format!("no signal: {e}"));
                }
            }
            preview(ui, app);
        });
        let lan = info
            .urls
            .iter()
            .find(|u| !u.contains("://127.") && !u.contains("://[::1]"));
        if let Some(url) = lan {
            ui.vertical(|ui| {
                crate::qr::show(ui, url, 160.0);
                ui.small("scan to open on a phone");
            });
        }
    });
}

fn preview(ui: &mut egui::Ui, app: &mut GuiApp) {
    let latest = app
        .engine
        .preview
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .and_then(|p| p.latest.lock().unwrap_or_else(|p| p.into_inner()).clone());
    if let Some((n, image)) = latest {
        match &mut app.preview_texture {
            Some((shown, tex)) if *shown != n => {
                tex.set(image, egui::TextureOptions::LINEAR);
                *shown = n;
            }
            Some(_) => {}
            None => {
                let tex = ui
                    .ctx()
                    .load_texture("preview", image, egui::TextureOptions::LINEAR);
                app.preview_texture = Some((n, tex));
            }
        }
    }
    if let Some((_, tex)) = &app.preview_texture {
        ui.add(egui::Image::new(tex).max_width(crate::preview::WIDTH as f32));
    }
}

fn share(ui: &mut egui::Ui, app: &mut GuiApp) {
    ui.strong("Share");
    let mut remove = None;
    for (i, p) in app.model.settings.paths.iter().enumerate() {
        ui.horizontal(|ui| {
            if ui.small_button("remove").clicked() {
                remove = Some(i);
            }
            let shown = p.display().to_string();
            if p.exists() {
                ui.label(shown);
            } else {
                ui.colored_label(RED, format!("{shown} (not found)"));
            }
        });
    }
    if let Some(i) = remove {
        app.model.settings.paths.remove(i);
    }
    if app.model.settings.paths.is_empty() {
        ui.label("Nothing yet: add folders or files, or drop them onto this window.");
    }
    ui.horizontal(|ui| {
        if ui.button("Add folder…").clicked() {
            app.pick_paths(true, ui.ctx());
        }
        if ui.button("Add files…").clicked() {
            app.pick_paths(false, ui.ctx());
        }
        let label = ui.label("Path");
        ui.add(
            egui::TextEdit::singleline(&mut app.path_text)
                .hint_text("type a folder or file")
                .desired_width(200.0),
        )
        .labelled_by(label.id);
        if ui.button("Add").clicked() && !app.path_text.trim().is_empty() {
            let p = std::path::PathBuf::from(app.path_text.trim());
            app.model.settings.add_path(p);
            app.path_text.clear();
        }
    });
}

/// A combo box over picker entries; disabled entries show why on hover.
fn picker<T: Clone + PartialEq>(
    ui: &mut egui::Ui,
    label: &str,
    shown: String,
    entries: Vec<Entry<T>>,
    current: &mut T,
) {
    egui::ComboBox::from_label(label)
        .selected_text(shown)
        .width(220.0)
        .show_ui(ui, |ui| {
            for e in entries {
                match e.value {
                    Some(v) => {
                        let selected = *current == v;
                        if ui.selectable_label(selected, e.label).clicked() {
                            *current = v;
                        }
                    }
                    None => {
                        let r = ui.add_enabled(false, egui::Button::selectable(false, e.label));
                        if let Some(h) = e.hint {
                            r.on_disabled_hover_text(h);
                        }
                    }
                }
            }
        });
}

fn live(ui: &mut egui::Ui, app: &mut GuiApp) {
    ui.strong("Live");
    let (shown, entries) = (app.model.video_label(), app.model.video_entries());
    let mut video = app.model.settings.video.clone();
    picker(ui, "Camera", shown, entries, &mut video);
    app.model.settings.video = video;
    let (shown, entries) = (app.model.mic_label(), app.model.mic_entries());
    let mut mic = app.model.settings.mic.clone();
    ui.add_enabled_ui(app.model.settings.video != Video::Off, |ui| {
        picker(ui, "Microphone", shown, entries, &mut mic);
    });
    app.model.settings.mic = mic;
    let s = &mut app.model.settings;
    ui.horizontal(|ui| {
        egui::ComboBox::from_label("Size")
            .selected_text(format!("{}x{}", s.width, s.height))
            .show_ui(ui, |ui| {
                for (w, h) in SIZES {
                    let on = (s.width, s.height) == (w, h);
                    if ui.selectable_label(on, format!("{w}x{h}")).clicked() {
                        (s.width, s.height) = (w, h);
                    }
                }
            });
        egui::ComboBox::from_label("Rate")
            .selected_text(format!("{} fps", s.fps))
            .show_ui(ui, |ui| {
                for f in RATES {
                    ui.selectable_value(&mut s.fps, f, format!("{f} fps"));
                }
            });
    });
    ui.horizontal(|ui| {
        let label = if app.model.probing {
            "Looking…"
        } else {
            "Refresh devices"
        };
        if ui
            .add_enabled(!app.model.probing, egui::Button::new(label))
            .clicked()
        {
            let cmds = app.model.refresh_devices();
            app.dispatch(cmds);
        }
        ui.checkbox(&mut app.model.settings.preview, "Preview while running");
    });
}

fn login(ui: &mut egui::Ui, app: &mut GuiApp) {
    ui.strong("Accounts");
    ui.horizontal(|ui| {
        let file = app
            .model
            .settings
            .users_file_or_default()
            .map_or("(none)".to_string(), |p| p.display().to_string());
        ui.label(format!("Users file: {file}"));
        if ui.small_button("choose…").clicked() {
            app.pick_users_file(ui.ctx());
        }
    });
    ui.horizontal(|ui| {
        let label = ui.label("Name");
        ui.add(
            egui::TextEdit::singleline(&mut app.user_name)
                .hint_text("1-64 of a-z 0-9 . _ @ -")
                .desired_width(120.0),
        )
        .labelled_by(label.id);
        let label = ui.label("Password");
        ui.add(
            egui::TextEdit::singleline(&mut app.user_password)
                .password(true)
                .hint_text("8+ characters")
                .desired_width(150.0),
        )
        .labelled_by(label.id);
        if ui.button("Add user").clicked() {
            app.add_user();
        }
    });
}

fn request_log(ui: &mut egui::Ui, app: &GuiApp) {
    ui.strong("Requests");
    let (lines, _) = app.log.snapshot();
    egui::ScrollArea::vertical()
        .id_salt("log")
        .max_height(180.0)
        .stick_to_bottom(true)
        .auto_shrink([false, true])
        .show(ui, |ui| {
            if lines.is_empty() {
                ui.weak("one line per request appears here");
            }
            for l in &lines {
                ui.monospace(l);
            }
        });
}
