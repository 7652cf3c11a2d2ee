//! The release bundle (wasm + JS + CSS) stays under the gzip ceiling.

use ccc_e2e::{
    bundle::{self, LIMIT_GZIP_BYTES},
    workspace_root,
};

#[test]
fn release_bundle_is_under_the_gzip_ceiling() {
    let assets = bundle::assets(&workspace_root().join("dist")).unwrap();
    let total: usize = assets.iter().map(|a| a.gzip).sum();
    for a in &assets {
        eprintln!("{:<48} {:>8} B raw {:>8} B gzip", a.name, a.raw, a.gzip);
    }
    eprintln!("total gzip: {total} B (limit {LIMIT_GZIP_BYTES} B)");
    assert!(
        total <= LIMIT_GZIP_BYTES,
        "bundle is {total} B gzip, over the {LIMIT_GZIP_BYTES} B limit"
    );
    assert!(
        assets.iter().any(|a| a.name.ends_with(".js")),
        "JS glue present"
    );
}
