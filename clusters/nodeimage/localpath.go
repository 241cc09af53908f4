package nodeimage

// LocalPathImages are the images of local-path-provisioner (v.LocalPath) and
// of its helper pods that every node image built here holds: a second
// provisioner (pgchaos's storage-fault class) can run from them offline.
func LocalPathImages(v Versions) (provisioner, helper string) {
	return localPathImage(v), localPathHelperImage
}
