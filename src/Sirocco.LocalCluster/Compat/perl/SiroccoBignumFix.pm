package SiroccoBignumFix;
# Loaded through PERL5OPT by the local cluster's kubelet. Debian's perl 5.36 (bignum 0.66) dies in
# `perl -Mbignum=bpi -e 'print bpi(2000)'` because bpi keeps Math::BigInt's upgrading on; the perl:5.34
# image the seed names does not. This computes bpi with upgrading and downgrading off, as older bignum did.
use strict;
use warnings;
use bignum ();
no warnings 'redefine';
my $fixed = sub ($) {
    my @saved = (Math::BigFloat->upgrade(), Math::BigFloat->downgrade(), Math::BigInt->upgrade());
    Math::BigFloat->upgrade(undef);
    Math::BigFloat->downgrade(undef);
    Math::BigInt->upgrade(undef);
    my $x = Math::BigFloat->bpi(0 + "$_[0]");
    Math::BigFloat->upgrade($saved[0]);
    Math::BigFloat->downgrade($saved[1]);
    Math::BigInt->upgrade($saved[2]);
    return $x;
};
*bignum::bpi = $fixed;
# PERL5OPT modules load after the command line's -M switches, so `-Mbignum=bpi` has already exported the
# original into main.
*main::bpi = $fixed if defined &main::bpi;
1;
